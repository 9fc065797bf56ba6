// The C structures the lab's SCTP sockets hand to libc (Linux, 64-bit), as bytes: sockaddr_in and
// sockaddr_in6, the packet-info control message of each family (which local address a packet came to,
// which one to send from), and a msghdr with one iovec. Pure, so the FFI module only moves buffers.
import { isIPv4, isIPv6 } from "node:net";
import { ipv6Bytes as bytesOfIpv6, ipv6FromBytes } from "../../proxy/ipv6-address.js";

export type Family = 4 | 6;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCKADDR_LEN = { 4: 16, 6: 28 } as const;
/** setsockopt level and option that turn packet info on, and the control message's type (Linux values). */
export const PKTINFO = { 4: { level: 0, option: 8, type: 8 }, 6: { level: 41, option: 49, type: 50 } } as const;

export class AddressError extends Error {
  constructor(ip: string, what: string) {
    super(`"${ip}" is not ${what}: give the probe a literal IPv4 or IPv6 address`);
    this.name = "AddressError";
  }
}

export interface SocketAddress {
  ip: string;
  port: number;
  /** IPv6 link-local: the interface index the address belongs to. */
  scopeId?: number;
}

export const familyOf = (ip: string): Family => (ip.includes(":") ? 6 : 4);
export const addressFamily = (family: Family): number => (family === 6 ? AF_INET6 : AF_INET);

function ipv4Bytes(ip: string): Buffer {
  if (!isIPv4(ip)) throw new AddressError(ip, "an IPv4 address");
  return Buffer.from(ip.split(".").map(Number));
}

/** The 16 bytes of an IPv6 address (without a zone: the scope travels in sin6_scope_id). */
export function ipv6Bytes(ip: string): Buffer {
  if (!isIPv6(ip) || ip.includes("%")) throw new AddressError(ip, "an IPv6 address without a zone");
  return bytesOfIpv6(ip);
}

export const ipv6Text = ipv6FromBytes;

/** One spelling per address, so a reply's source compares with the address that was dialled. */
export const canonicalIp = (ip: string): string => (familyOf(ip) === 6 ? ipv6Text(ipv6Bytes(ip)) : ipv4Bytes(ip).join("."));

/** sockaddr_in (16 bytes) or sockaddr_in6 (28), by the address's family. */
export function encodeSockaddr(a: SocketAddress): Buffer {
  const family = familyOf(a.ip);
  const sa = Buffer.alloc(SOCKADDR_LEN[family]);
  sa.writeUInt16LE(addressFamily(family), 0);
  sa.writeUInt16BE(a.port, 2);
  if (family === 4) ipv4Bytes(a.ip).copy(sa, 4);
  else {
    ipv6Bytes(a.ip).copy(sa, 8); // after sin6_flowinfo, left 0
    sa.writeUInt32LE(a.scopeId ?? 0, 24);
  }
  return sa;
}

/** What recvfrom/recvmsg wrote in a sockaddr; undefined for another family or too few bytes. */
export function decodeSockaddr(sa: Buffer): SocketAddress | undefined {
  if (sa.length < 16) return undefined;
  const af = sa.readUInt16LE(0);
  if (af === AF_INET) return { ip: [...sa.subarray(4, 8)].join("."), port: sa.readUInt16BE(2) };
  if (af !== AF_INET6 || sa.length < 28) return undefined;
  const scopeId = sa.readUInt32LE(24);
  return { ip: ipv6Text(sa.subarray(8, 24)), port: sa.readUInt16BE(2), ...(scopeId ? { scopeId } : {}) };
}

// A control message: cmsg_len (size_t), cmsg_level, cmsg_type (int), then the data, 8-byte aligned.
const CMSG_HEADER = 16;
const align8 = (n: number): number => (n + 7) & ~7;

/**
 * The packet-info control message that makes sendmsg send from `local`: in_pktinfo's ipi_spec_dst
 * (ifindex 0, ipi_addr unused) or in6_pktinfo's address (ifindex 0: the route chooses the interface).
 */
export function encodePktinfo(local: string): Buffer {
  const family = familyOf(local);
  const data = family === 4 ? Buffer.concat([Buffer.alloc(4), ipv4Bytes(local), Buffer.alloc(4)]) : Buffer.concat([ipv6Bytes(local), Buffer.alloc(4)]);
  const cmsg = Buffer.alloc(CMSG_HEADER + align8(data.length));
  cmsg.writeBigUInt64LE(BigInt(CMSG_HEADER + data.length), 0);
  cmsg.writeInt32LE(PKTINFO[family].level, 8);
  cmsg.writeInt32LE(PKTINFO[family].type, 12);
  data.copy(cmsg, CMSG_HEADER);
  return cmsg;
}

/** The local address a received packet was sent to, from its packet-info control message (ipi_addr or ipi6_addr). */
export function findPktinfo(control: Buffer): string | undefined {
  for (let off = 0; off + CMSG_HEADER <= control.length; ) {
    const len = Number(control.readBigUInt64LE(off));
    if (len < CMSG_HEADER || off + len > control.length) return undefined;
    const level = control.readInt32LE(off + 8);
    const type = control.readInt32LE(off + 12);
    const data = control.subarray(off + CMSG_HEADER, off + len);
    if (level === PKTINFO[4].level && type === PKTINFO[4].type && data.length >= 12) return [...data.subarray(8, 12)].join(".");
    if (level === PKTINFO[6].level && type === PKTINFO[6].type && data.length >= 20) return ipv6Text(data.subarray(0, 16));
    off += align8(len);
  }
  return undefined;
}

/**
 * Where the parts of one recvmsg/sendmsg live in one block of memory: the msghdr, its one iovec, the
 * peer's sockaddr, the control messages, the data. One block, so the pointers stay valid while the
 * kernel uses them.
 */
export const MESSAGE = { msghdr: 0, iovec: 56, name: 72, nameSpace: 32, control: 104, controlSpace: 64, data: 168 } as const;

/** The msghdr and iovec of a block at `base`, pointing into the block itself; the lengths are what the call may use. */
export function encodeMessageHeader(base: bigint, nameLen: number, controlLen: number, dataLen: number): Buffer {
  const h = Buffer.alloc(MESSAGE.name);
  h.writeBigUInt64LE(base + BigInt(MESSAGE.name), 0); // msg_name
  h.writeUInt32LE(nameLen, 8); // msg_namelen
  h.writeBigUInt64LE(base + BigInt(MESSAGE.iovec), 16); // msg_iov
  h.writeBigUInt64LE(1n, 24); // msg_iovlen
  h.writeBigUInt64LE(controlLen ? base + BigInt(MESSAGE.control) : 0n, 32); // msg_control
  h.writeBigUInt64LE(BigInt(controlLen), 40); // msg_controllen
  h.writeBigUInt64LE(base + BigInt(MESSAGE.data), MESSAGE.iovec); // iov_base
  h.writeBigUInt64LE(BigInt(dataLen), MESSAGE.iovec + 8); // iov_len
  return h;
}

/** What recvmsg wrote back into a msghdr: the peer's sockaddr length and the control messages' length. */
export const decodeMessageLengths = (h: Buffer): { nameLen: number; controlLen: number } => ({ nameLen: h.readUInt32LE(8), controlLen: Number(h.readBigUInt64LE(40)) });
