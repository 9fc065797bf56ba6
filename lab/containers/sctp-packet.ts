// SCTP packets for the lab's raw-socket exchange (pure): one INIT or INIT ACK chunk with its CRC32c, and
// the SCTP packet inside what a raw socket reads (an IPv4 raw socket reads the IP header too, an IPv6
// one does not). The checksum has no pseudo-header, so one packet serves both families.
export const IPPROTO_SCTP = 132;
export const CHUNK_INIT = 1;
export const CHUNK_INIT_ACK = 2;
const PARAM_STATE_COOKIE = 7;

// CRC32c (Castagnoli), reflected, as RFC 9260 appendix A asks for the SCTP checksum.
const CRC32C_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32c(buf: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of buf) crc = (CRC32C_TABLE[(crc ^ b) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export interface SctpPacket {
  srcPort: number;
  dstPort: number;
  vtag: number;
  chunkType: number;
  /** INIT / INIT ACK: the sender's initiate tag. */
  initiateTag?: number;
  /** INIT ACK: the State Cookie's bytes. */
  cookie?: Buffer;
}

/** One SCTP packet with one INIT or INIT ACK chunk, checksum filled in. */
export function encodeSctp(p: SctpPacket): Buffer {
  const cookie = p.cookie ?? Buffer.alloc(0);
  const param = p.chunkType === CHUNK_INIT_ACK ? 4 + cookie.length : 0;
  const padded = (param + 3) & ~3;
  const buf = Buffer.alloc(12 + 20 + padded);
  buf.writeUInt16BE(p.srcPort, 0);
  buf.writeUInt16BE(p.dstPort, 2);
  buf.writeUInt32BE(p.vtag >>> 0, 4);
  buf.writeUInt8(p.chunkType, 12);
  buf.writeUInt16BE(20 + param, 14);
  buf.writeUInt32BE((p.initiateTag ?? 1) >>> 0, 16);
  buf.writeUInt32BE(65535, 20); // advertised receiver window
  buf.writeUInt16BE(1, 24); // outbound streams
  buf.writeUInt16BE(1, 26); // inbound streams
  buf.writeUInt32BE(1, 28); // initial TSN
  if (param) {
    buf.writeUInt16BE(PARAM_STATE_COOKIE, 32);
    buf.writeUInt16BE(param, 34);
    cookie.copy(buf, 36);
  }
  // The checksum goes in as the CRC's little-endian bytes (RFC 9260 appendix A).
  buf.writeUInt32LE(crc32c(buf), 8);
  return buf;
}

/** Decodes an SCTP packet (without IP header); undefined if it is not one INIT/INIT ACK with a good checksum. */
export function decodeSctp(buf: Buffer): SctpPacket | undefined {
  if (buf.length < 32) return undefined;
  const sum = buf.readUInt32LE(8);
  const zeroed = Buffer.from(buf);
  zeroed.writeUInt32LE(0, 8);
  if (crc32c(zeroed) !== sum) return undefined;
  const chunkType = buf.readUInt8(12);
  if (chunkType !== CHUNK_INIT && chunkType !== CHUNK_INIT_ACK) return undefined;
  const p: SctpPacket = { srcPort: buf.readUInt16BE(0), dstPort: buf.readUInt16BE(2), vtag: buf.readUInt32BE(4), chunkType, initiateTag: buf.readUInt32BE(16) };
  const chunkLen = Math.min(buf.readUInt16BE(14), buf.length - 12);
  for (let off = 32; off + 4 <= 12 + chunkLen; ) {
    const type = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 2);
    if (len < 4) break;
    if (type === PARAM_STATE_COOKIE) p.cookie = buf.subarray(off + 4, off + len);
    off += (len + 3) & ~3;
  }
  return p;
}

/** The SCTP packet in what a raw socket of `family` read: past the IPv4 header (its IHL), or all of it for IPv6. */
export function sctpOfRawRead(family: 4 | 6, read: Buffer): Buffer {
  if (family === 6) return read;
  if (read.length < 20) return Buffer.alloc(0);
  return read.subarray(((read[0] as number) & 0x0f) * 4);
}
