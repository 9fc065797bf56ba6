// IPv6's gratuitous ARP: an unsolicited Neighbour Advertisement (RFC 4861 §7.2.6) to all nodes,
// Override set, so every neighbour on the link replaces the MAC it holds for the address at once
// instead of waiting for its entry to go stale and fail. Sent from a raw ICMPv6 socket: the kernel
// fills the ICMPv6 checksum for that protocol; hop limit 255, as receivers drop NDP from further away.
import koffi from "koffi";
import { ipv6Bytes } from "./ipv6-address.js";

export const ALL_NODES = "ff02::1";
const ICMPV6_NEIGHBOUR_ADVERTISEMENT = 136;
const NA_OVERRIDE = 0x20; // the flags byte: Router 0x80, Solicited 0x40, Override 0x20
const OPTION_TARGET_LINK_LAYER_ADDRESS = 2;
const AF_INET6 = 10;
const SOCK_RAW = 3;
const IPPROTO_ICMPV6 = 58;
const IPPROTO_IPV6 = 41;
const IPV6_UNICAST_HOPS = 16;
const IPV6_MULTICAST_IF = 17;
const IPV6_MULTICAST_HOPS = 18;
const SIOCGIFHWADDR = 0x8927;
const IFNAMSIZ = 16;
const ARPHRD_ETHER = 1;
const NDP_HOP_LIMIT = 255;

export class NeighbourAdvertisementError extends Error {
  constructor(
    readonly iface: string,
    readonly target: string,
    reason: string,
  ) {
    super(`cannot advertise ${target} on ${iface}: ${reason}`);
  }
}

function macBytes(mac: string): Buffer {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) throw new Error(`"${mac}" is not an Ethernet MAC address: write it as aa:bb:cc:dd:ee:ff`);
  return Buffer.from(mac.replace(/:/g, ""), "hex");
}

/** The ICMPv6 message: target `target` is at `mac`. Checksum left zero (the kernel's); Router and Solicited clear. */
export function encodeUnsolicitedNa(target: string, mac: string): Buffer {
  const buf = Buffer.alloc(32);
  buf.writeUInt8(ICMPV6_NEIGHBOUR_ADVERTISEMENT, 0);
  buf.writeUInt8(NA_OVERRIDE, 4);
  ipv6Bytes(target).copy(buf, 8);
  buf.writeUInt8(OPTION_TARGET_LINK_LAYER_ADDRESS, 24);
  buf.writeUInt8(1, 25); // option length in units of 8 bytes
  macBytes(mac).copy(buf, 26);
  return buf;
}

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrLen: number): number;
  ioctl(fd: number, request: number, arg: Buffer): number;
  if_nametoindex(name: string): number;
  strerror(errnum: number): string;
  close(fd: number): number;
}

let libc: Libc | undefined;
function c(): Libc {
  if (libc) return libc;
  const lib = koffi.load("libc.so.6");
  libc = {
    socket: lib.func("int socket(int, int, int)"),
    setsockopt: lib.func("int setsockopt(int, int, int, const void *, uint32_t)"),
    sendto: lib.func("long sendto(int, const void *, size_t, int, const void *, uint32_t)"),
    ioctl: lib.func("int ioctl(int, unsigned long, void *)"),
    if_nametoindex: lib.func("unsigned int if_nametoindex(const char *)"),
    strerror: lib.func("const char *strerror(int)"),
    close: lib.func("int close(int)"),
  } as Libc;
  return libc;
}

const lastError = (): string => c().strerror(koffi.errno());

function intOption(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value, 0);
  return b;
}

function sockaddrIn6(ip: string, scopeId: number): Buffer {
  const sa = Buffer.alloc(28);
  sa.writeUInt16LE(AF_INET6, 0);
  ipv6Bytes(ip).copy(sa, 8);
  sa.writeUInt32LE(scopeId, 24);
  return sa;
}

/** The interface's MAC as the kernel of this process's namespace has it (SIOCGIFHWADDR: /sys may be another namespace's). */
function interfaceMac(fd: number, iface: string): string {
  const ifreq = Buffer.alloc(40);
  ifreq.write(iface, 0, IFNAMSIZ - 1);
  if (c().ioctl(fd, SIOCGIFHWADDR, ifreq) < 0) throw new Error(`no hardware address: ${lastError()}`);
  if (ifreq.readUInt16LE(16) !== ARPHRD_ETHER) throw new Error("not an Ethernet interface");
  return [...ifreq.subarray(18, 24)].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/** Sends one unsolicited NA for `target` with `iface`'s MAC to ff02::1 on `iface`; returns the MAC it advertised. */
export function sendUnsolicitedNa(iface: string, target: string): string {
  const ifindex = c().if_nametoindex(iface);
  if (!ifindex) throw new NeighbourAdvertisementError(iface, target, "no such interface in this namespace");
  const fd = c().socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
  if (fd < 0) throw new NeighbourAdvertisementError(iface, target, `cannot open a raw ICMPv6 socket (needs CAP_NET_RAW): ${lastError()}`);
  try {
    const mac = interfaceMac(fd, iface);
    for (const option of [IPV6_MULTICAST_HOPS, IPV6_UNICAST_HOPS, IPV6_MULTICAST_IF]) {
      const value = intOption(option === IPV6_MULTICAST_IF ? ifindex : NDP_HOP_LIMIT);
      if (c().setsockopt(fd, IPPROTO_IPV6, option, value, 4) < 0) throw new Error(`setsockopt ${option}: ${lastError()}`);
    }
    const na = encodeUnsolicitedNa(target, mac);
    if (c().sendto(fd, na, na.length, 0, sockaddrIn6(ALL_NODES, ifindex), 28) < 0) throw new Error(`sendto ${ALL_NODES}: ${lastError()}`);
    return mac;
  } catch (err) {
    throw err instanceof NeighbourAdvertisementError ? err : new NeighbourAdvertisementError(iface, target, (err as Error).message);
  } finally {
    c().close(fd);
  }
}
