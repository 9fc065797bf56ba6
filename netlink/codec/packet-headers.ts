// The headers of a captured packet (an NFLOG payload: the network header on, cut at the copy range):
// addresses, the transport protocol, and its ports for TCP, UDP and SCTP (all three begin with source
// and destination port). IPv6 extension headers are walked to the transport header; a fragment that is
// not the first, or a capture cut short, leaves the ports out rather than guessing.
import { decodeIp } from "./addresses.js";
import { readU16BE } from "./bytes.js";

export type TransportProtocol = "TCP" | "UDP" | "SCTP" | "ICMP" | "ICMPv6" | `IP-${number}`;

export interface PacketHeaders {
  family: 4 | 6;
  src: string;
  dst: string;
  protocol: TransportProtocol;
  srcPort?: number;
  dstPort?: number;
}

const PROTOCOL_NAMES: Record<number, TransportProtocol> = { 1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6", 132: "SCTP" };
const WITH_PORTS = new Set([6, 17, 132]);
const IPV6_HOP_BY_HOP = 0;
const IPV6_ROUTING = 43;
const IPV6_FRAGMENT = 44;
const IPV6_AH = 51;
const IPV6_DEST_OPTIONS = 60;

const protocolName = (n: number): TransportProtocol => PROTOCOL_NAMES[n] ?? `IP-${n}`;

function withPorts(h: PacketHeaders, proto: number, buf: Buffer, at: number | undefined): PacketHeaders {
  if (at === undefined || !WITH_PORTS.has(proto) || buf.length < at + 4) return h;
  return { ...h, srcPort: readU16BE(buf, at), dstPort: readU16BE(buf, at + 2) };
}

function ipv4(buf: Buffer): PacketHeaders | undefined {
  const ihl = (buf[0]! & 0x0f) * 4;
  if (ihl < 20 || buf.length < 20) return undefined;
  const proto = buf[9]!;
  const fragmentOffset = readU16BE(buf, 6) & 0x1fff;
  const h: PacketHeaders = { family: 4, src: decodeIp(buf.subarray(12, 16)), dst: decodeIp(buf.subarray(16, 20)), protocol: protocolName(proto) };
  return withPorts(h, proto, buf, fragmentOffset === 0 ? ihl : undefined);
}

function ipv6(buf: Buffer): PacketHeaders | undefined {
  if (buf.length < 40) return undefined;
  let next = buf[6]!;
  let at: number | undefined = 40;
  // Extension headers before the transport header; at most a handful, bounded in case of garbage.
  for (let hops = 0; hops < 8 && at !== undefined; hops++) {
    if (next === IPV6_HOP_BY_HOP || next === IPV6_ROUTING || next === IPV6_DEST_OPTIONS) {
      if (buf.length < at + 2) at = undefined;
      else [next, at] = [buf[at]!, at + (buf[at + 1]! + 1) * 8];
    } else if (next === IPV6_FRAGMENT) {
      if (buf.length < at + 8) at = undefined;
      else {
        const notFirst = (readU16BE(buf, at + 2) & 0xfff8) !== 0;
        [next, at] = [buf[at]!, notFirst ? undefined : at + 8];
      }
    } else if (next === IPV6_AH) {
      if (buf.length < at + 2) at = undefined;
      else [next, at] = [buf[at]!, at + (buf[at + 1]! + 2) * 4];
    } else break;
  }
  const h: PacketHeaders = { family: 6, src: decodeIp(buf.subarray(8, 24)), dst: decodeIp(buf.subarray(24, 40)), protocol: protocolName(next) };
  return withPorts(h, next, buf, at);
}

/** The headers, or undefined when the bytes are no IPv4 or IPv6 packet. */
export function parsePacketHeaders(buf: Buffer): PacketHeaders | undefined {
  if (buf.length < 1) return undefined;
  const version = buf[0]! >> 4;
  if (version === 4) return ipv4(buf);
  if (version === 6) return ipv6(buf);
  return undefined;
}
