// SCTP for the lab's matrix. This kernel may have no SCTP sockets at all (no sctp module), yet the
// network must still carry SCTP: the proxy's `-p sctp` DNAT, conntrack and masquerade work on IP
// protocol 132 whatever the endpoints can do. So, where SCTP sockets are missing, a probe sends an
// INIT chunk (valid CRC32c) from a raw socket and the destination answers from a raw socket with an
// INIT ACK whose State Cookie names the pod; conntrack undoes the NAT on that reply as it would on a
// real association's. Where the kernel has SCTP, a real association is opened instead.
import koffi from "koffi";

export const IPPROTO_SCTP = 132;
const AF_INET = 2;
const SOCK_STREAM = 1;
const SOCK_RAW = 3;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const SO_SNDTIMEO = 21;
const CHUNK_INIT = 1;
const CHUNK_INIT_ACK = 2;
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

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrLen: number): number;
  recvfrom(fd: number, buf: Buffer, len: number, flags: number, addr: null, addrLen: null): number;
  connect(fd: number, addr: Buffer, len: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  listen(fd: number, backlog: number): number;
  accept(fd: number, addr: null, len: null): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  close(fd: number): number;
}
type AsyncFn = { async: (...args: unknown[]) => void };

let libc: (Libc & { recvfromAsync: AsyncFn; acceptAsync: AsyncFn }) | undefined;
function c(): Libc & { recvfromAsync: AsyncFn; acceptAsync: AsyncFn } {
  if (libc) return libc;
  const lib = koffi.load("libc.so.6");
  const recvfrom = lib.func("long recvfrom(int, void *, size_t, int, void *, void *)");
  const accept = lib.func("int accept(int, void *, void *)");
  libc = {
    socket: lib.func("int socket(int, int, int)"),
    setsockopt: lib.func("int setsockopt(int, int, int, const void *, uint32_t)"),
    sendto: lib.func("long sendto(int, const void *, size_t, int, const void *, uint32_t)"),
    recvfrom,
    connect: lib.func("int connect(int, const void *, uint32_t)"),
    bind: lib.func("int bind(int, const void *, uint32_t)"),
    listen: lib.func("int listen(int, int)"),
    accept,
    send: lib.func("long send(int, const void *, size_t, int)"),
    close: lib.func("int close(int)"),
    recvfromAsync: recvfrom as unknown as AsyncFn,
    acceptAsync: accept as unknown as AsyncFn,
  } as Libc & { recvfromAsync: AsyncFn; acceptAsync: AsyncFn };
  return libc;
}

function sockaddrIn(ip: string, port: number): Buffer {
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(AF_INET, 0);
  sa.writeUInt16BE(port, 2);
  ip.split(".").forEach((o, i) => sa.writeUInt8(Number(o), 4 + i));
  return sa;
}

function timeval(ms: number): Buffer {
  const tv = Buffer.alloc(16);
  tv.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
  tv.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8);
  return tv;
}

/** Whether this kernel opens SCTP sockets (the sctp module); without it, the raw-socket exchange is used. */
export function kernelHasSctp(): boolean {
  const fd = c().socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
  if (fd < 0) return false;
  c().close(fd);
  return true;
}

const ipv4 = (b: Buffer, off: number): string => [0, 1, 2, 3].map((i) => b[off + i]).join(".");

export interface SctpAnswer {
  /** What answered: the name the destination put in its reply. */
  name: string;
  ms: number;
  /** How SCTP was proved: a real association, or INIT → INIT ACK between raw sockets. */
  method: "association" | "raw INIT/INIT ACK";
}

/** One INIT → INIT ACK exchange from a raw socket; throws on timeout. */
function rawExchange(host: string, port: number, timeoutMs: number): SctpAnswer {
  const fd = c().socket(AF_INET, SOCK_RAW, IPPROTO_SCTP);
  if (fd < 0) throw new Error("cannot open a raw socket (needs CAP_NET_RAW)");
  try {
    const tag = (Math.random() * 0xfffffffe + 1) >>> 0;
    const srcPort = 20000 + Math.floor(Math.random() * 40000);
    c().setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval(100), 16);
    const init = encodeSctp({ srcPort, dstPort: port, vtag: 0, chunkType: CHUNK_INIT, initiateTag: tag });
    const t = performance.now();
    if (c().sendto(fd, init, init.length, 0, sockaddrIn(host, 0), 16) < 0) throw new Error(`sendto ${host} failed`);
    const buf = Buffer.alloc(65536);
    while (performance.now() - t < timeoutMs) {
      const n = c().recvfrom(fd, buf, buf.length, 0, null, null);
      if (n <= 0) continue;
      const ihl = ((buf[0] as number) & 0x0f) * 4;
      const p = decodeSctp(buf.subarray(ihl, n));
      // Our own INIT is seen too (raw sockets get every packet of the protocol): only the answer counts.
      if (p?.chunkType === CHUNK_INIT_ACK && p.vtag === tag && p.dstPort === srcPort) {
        return { name: p.cookie?.toString().replace(/^weft-lab /, "") ?? "", ms: performance.now() - t, method: "raw INIT/INIT ACK" };
      }
    }
    throw new Error(`no INIT ACK within ${timeoutMs} ms`);
  } finally {
    c().close(fd);
  }
}

/** A real association (kernels with SCTP): connect, send, read the name the server answers with. */
function associationExchange(host: string, port: number, timeoutMs: number): SctpAnswer {
  const fd = c().socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
  try {
    c().setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, timeval(timeoutMs), 16);
    c().setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval(timeoutMs), 16);
    const t = performance.now();
    if (c().connect(fd, sockaddrIn(host, port), 16) < 0) throw new Error(`SCTP connect to ${host}:${port} failed`);
    const msg = Buffer.from("hostname");
    c().send(fd, msg, msg.length, 0);
    const buf = Buffer.alloc(256);
    const n = c().recvfrom(fd, buf, buf.length, 0, null, null);
    if (n <= 0) throw new Error(`no answer on the association within ${timeoutMs} ms`);
    return { name: buf.subarray(0, n).toString(), ms: performance.now() - t, method: "association" };
  } finally {
    c().close(fd);
  }
}

export function sctpExchange(host: string, port: number, timeoutMs = 2_000): SctpAnswer {
  return kernelHasSctp() ? associationExchange(host, port, timeoutMs) : rawExchange(host, port, timeoutMs);
}

/**
 * Answers SCTP on `ports` as `name`. Without kernel SCTP: one raw socket sees every SCTP packet that
 * reaches this namespace and answers each INIT to one of `ports` with an INIT ACK. With it: a listening
 * SCTP socket per port that answers each message with the name. Runs until the process ends.
 */
export function serveSctp(name: string, ports: number[], log: (msg: string, fields?: object) => void): void {
  if (!ports.length) return;
  if (kernelHasSctp()) {
    for (const port of ports) {
      const fd = c().socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
      if (c().bind(fd, sockaddrIn("0.0.0.0", port), 16) < 0 || c().listen(fd, 16) < 0) log("cannot listen on SCTP", { port });
      const acceptNext = (): void =>
        c().acceptAsync.async(fd, null, null, (_err: unknown, conn: number) => {
          if (conn >= 0) {
            const buf = Buffer.alloc(256);
            c().recvfromAsync.async(conn, buf, buf.length, 0, null, null, () => {
              const reply = Buffer.from(name);
              c().send(conn, reply, reply.length, 0);
              c().close(conn);
            });
          }
          acceptNext();
        });
      acceptNext();
    }
    log("serving SCTP with kernel sockets", { ports });
    return;
  }
  const fd = c().socket(AF_INET, SOCK_RAW, IPPROTO_SCTP);
  if (fd < 0) return log("cannot open a raw SCTP socket", { ports });
  const buf = Buffer.alloc(65536);
  const cookie = Buffer.from(`weft-lab ${name}`);
  const next = (): void =>
    c().recvfromAsync.async(fd, buf, buf.length, 0, null, null, (_err: unknown, n: number) => {
      if (n > 20) {
        const ihl = ((buf[0] as number) & 0x0f) * 4;
        const p = decodeSctp(buf.subarray(ihl, n));
        if (p?.chunkType === CHUNK_INIT && ports.includes(p.dstPort)) {
          const from = ipv4(buf, 12);
          const ack = encodeSctp({ srcPort: p.dstPort, dstPort: p.srcPort, vtag: p.initiateTag ?? 0, chunkType: CHUNK_INIT_ACK, initiateTag: (Math.random() * 0xfffffffe + 1) >>> 0, cookie });
          c().sendto(fd, ack, ack.length, 0, sockaddrIn(from, 0), 16);
        }
      }
      next();
    });
  next();
  log("serving SCTP from a raw socket (this kernel has no SCTP sockets)", { ports });
}
