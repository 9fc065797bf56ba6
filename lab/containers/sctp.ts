// SCTP for the lab's matrix, over IPv4 and IPv6. This kernel may have no SCTP sockets at all (no sctp
// module), yet the network must still carry SCTP: the proxy's `-p sctp` DNAT, conntrack and masquerade
// work on IP protocol 132 whatever the endpoints can do. So, where SCTP sockets are missing, a probe
// sends an INIT chunk (valid CRC32c) from a raw socket and the destination answers from a raw socket
// with an INIT ACK whose State Cookie names the pod, from the address the INIT was sent to; conntrack
// undoes the NAT on that reply as it would on a real association's. An IPv6 raw socket reads and writes
// the SCTP packet without its IP header, so the addresses travel as sockaddr_in6 and packet info
// (sockaddr.ts). Where the kernel has SCTP, a real association is opened instead.
import koffi from "koffi";
import { CHUNK_INIT, CHUNK_INIT_ACK, decodeSctp, encodeSctp, IPPROTO_SCTP, sctpOfRawRead } from "./sctp-packet.js";
import { addressFamily, canonicalIp, decodeMessageLengths, decodeSockaddr, encodeMessageHeader, encodePktinfo, encodeSockaddr, type Family, familyOf, findPktinfo, MESSAGE, PKTINFO, SOCKADDR_LEN, type SocketAddress } from "./sockaddr.js";

const SOCK_STREAM = 1;
const SOCK_RAW = 3;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;
const SO_SNDTIMEO = 21;
const MSG_DONTWAIT = 0x40;

export class SctpError extends Error {}

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrLen: number): number;
  recvfrom(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer | null, addrLen: Buffer | null): number;
  recvmsg(fd: number, msg: unknown, flags: number): number;
  sendmsg(fd: number, msg: unknown, flags: number): number;
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
    recvmsg: lib.func("long recvmsg(int, void *, int)"),
    sendmsg: lib.func("long sendmsg(int, const void *, int)"),
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

function timeval(ms: number): Buffer {
  const tv = Buffer.alloc(16);
  tv.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
  tv.writeBigInt64LE(BigInt((ms % 1000) * 1000), 8);
  return tv;
}

const int32 = (n: number): Buffer => Buffer.from(Int32Array.of(n).buffer);
const randomTag = (): number => (Math.random() * 0xfffffffe + 1) >>> 0;

/** Whether this kernel opens SCTP sockets (the sctp module, both families); without it, the raw-socket exchange is used. */
export function kernelHasSctp(): boolean {
  const fd = c().socket(addressFamily(4), SOCK_STREAM, IPPROTO_SCTP);
  if (fd < 0) return false;
  c().close(fd);
  return true;
}

export interface SctpAnswer {
  /** What answered: the name the destination put in its reply. */
  name: string;
  ms: number;
  /** How SCTP was proved: a real association, or INIT → INIT ACK between raw sockets. */
  method: "association" | "raw INIT/INIT ACK";
  /** The address the answer came from: the one dialled, once every NAT on the way was undone. */
  from: string;
}

/** One INIT → INIT ACK exchange from a raw socket of the host's family; throws on timeout or on a reply not un-NATed. */
function rawExchange(host: string, port: number, timeoutMs: number): SctpAnswer {
  const family = familyOf(host);
  const to = encodeSockaddr({ ip: host, port: 0 }); // a raw socket's sockaddr has no port: SCTP's are in the packet
  const fd = c().socket(addressFamily(family), SOCK_RAW, IPPROTO_SCTP);
  if (fd < 0) throw new SctpError(`cannot open a raw IPv${family} SCTP socket to probe ${host}: the probe needs CAP_NET_RAW`);
  try {
    const tag = randomTag();
    const srcPort = 20000 + Math.floor(Math.random() * 40000);
    c().setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval(100), 16);
    const init = encodeSctp({ srcPort, dstPort: port, vtag: 0, chunkType: CHUNK_INIT, initiateTag: tag });
    const t = performance.now();
    if (c().sendto(fd, init, init.length, 0, to, to.length) < 0) throw new SctpError(`sending an SCTP INIT to ${host} failed: check this namespace's route to it`);
    const buf = Buffer.alloc(65536);
    const sa = Buffer.alloc(SOCKADDR_LEN[6]);
    const saLen = Buffer.alloc(4);
    while (performance.now() - t < timeoutMs) {
      saLen.writeUInt32LE(sa.length);
      const n = c().recvfrom(fd, buf, buf.length, 0, sa, saLen);
      if (n <= 0) continue;
      const p = decodeSctp(sctpOfRawRead(family, buf.subarray(0, n)));
      // Our own INIT is seen too (raw sockets get every packet of the protocol): only the answer counts.
      if (p?.chunkType !== CHUNK_INIT_ACK || p.vtag !== tag || p.dstPort !== srcPort) continue;
      const ms = performance.now() - t;
      const from = decodeSockaddr(sa.subarray(0, saLen.readUInt32LE()))?.ip ?? "?";
      // A real endpoint drops an INIT ACK from elsewhere: a NAT on the way did not undo its translation.
      if (from !== canonicalIp(host) || p.srcPort !== port) throw new SctpError(`the INIT ACK for ${host}:${port} came from ${from}:${p.srcPort}: a NAT on the way did not undo its translation (check its conntrack)`);
      return { name: p.cookie?.toString().replace(/^weft-lab /, "") ?? "", ms, method: "raw INIT/INIT ACK", from };
    }
    throw new SctpError(`no SCTP INIT ACK from ${host}:${port} within ${timeoutMs} ms: is an SCTP server there, and the path open to IP protocol 132?`);
  } finally {
    c().close(fd);
  }
}

/** A real association (kernels with SCTP): connect, send, read the name the server answers with. */
function associationExchange(host: string, port: number, timeoutMs: number): SctpAnswer {
  const to = encodeSockaddr({ ip: host, port });
  const fd = c().socket(addressFamily(familyOf(host)), SOCK_STREAM, IPPROTO_SCTP);
  try {
    c().setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, timeval(timeoutMs), 16);
    c().setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval(timeoutMs), 16);
    const t = performance.now();
    if (c().connect(fd, to, to.length) < 0) throw new SctpError(`SCTP connect to ${host}:${port} failed: is an SCTP server listening there?`);
    const msg = Buffer.from("hostname");
    c().send(fd, msg, msg.length, 0);
    const buf = Buffer.alloc(256);
    const n = c().recvfrom(fd, buf, buf.length, 0, null, null);
    if (n <= 0) throw new SctpError(`no answer on the SCTP association with ${host}:${port} within ${timeoutMs} ms`);
    return { name: buf.subarray(0, n).toString(), ms: performance.now() - t, method: "association", from: canonicalIp(host) };
  } finally {
    c().close(fd);
  }
}

/** Proves SCTP to `host` (IPv4 or IPv6) on `port`: a real association where the kernel has SCTP, else INIT → INIT ACK. */
export function sctpExchange(host: string, port: number, timeoutMs = 2_000): SctpAnswer {
  return kernelHasSctp() ? associationExchange(host, port, timeoutMs) : rawExchange(host, port, timeoutMs);
}

interface Received {
  peer?: SocketAddress;
  /** The local address the packet was sent to (packet info). */
  local?: string;
  data: Buffer;
}

/** recvmsg and sendmsg through one block of native memory laid out as MESSAGE says (the kernel follows its pointers). */
class MessageBlock {
  private readonly ptr: unknown;
  private readonly mem: Buffer;
  private readonly base: bigint;
  constructor(private readonly dataSpace: number) {
    this.ptr = koffi.alloc("uint8_t", MESSAGE.data + dataSpace);
    this.mem = Buffer.from(koffi.view(this.ptr, MESSAGE.data + dataSpace));
    this.base = koffi.address(this.ptr);
  }

  /** A non-blocking recvmsg; undefined when nothing waits. The data is valid until the next call. */
  receive(fd: number): Received | undefined {
    encodeMessageHeader(this.base, MESSAGE.nameSpace, MESSAGE.controlSpace, this.dataSpace).copy(this.mem);
    const n = c().recvmsg(fd, this.ptr, MSG_DONTWAIT);
    if (n < 0) return undefined;
    const { nameLen, controlLen } = decodeMessageLengths(this.mem);
    const peer = decodeSockaddr(this.mem.subarray(MESSAGE.name, MESSAGE.name + nameLen));
    const local = findPktinfo(this.mem.subarray(MESSAGE.control, MESSAGE.control + controlLen));
    return { peer, local, data: this.mem.subarray(MESSAGE.data, MESSAGE.data + n) };
  }

  /** sendmsg of `data` to `to`, from the local address `from` when given. */
  send(fd: number, to: SocketAddress, from: string | undefined, data: Buffer): number {
    const name = encodeSockaddr(to);
    const control = from ? encodePktinfo(from) : Buffer.alloc(0);
    name.copy(this.mem, MESSAGE.name);
    control.copy(this.mem, MESSAGE.control);
    const copied = data.copy(this.mem, MESSAGE.data); // at most the block's data space
    encodeMessageHeader(this.base, name.length, control.length, copied).copy(this.mem);
    return c().sendmsg(fd, this.ptr, 0);
  }
}

type Log = (msg: string, fields?: object) => void;
/** The poll handles of the raw servers, held for as long as the process serves. */
const serving: unknown[] = [];

/** One raw socket of `family` that answers each INIT to one of `ports` with an INIT ACK, from the address the INIT was sent to. */
function serveRaw(family: Family, name: string, ports: number[], log: Log): void {
  const fd = c().socket(addressFamily(family), SOCK_RAW, IPPROTO_SCTP);
  if (fd < 0) return log("cannot open a raw SCTP socket", { family: `IPv${family}`, ports });
  c().setsockopt(fd, PKTINFO[family].level, PKTINFO[family].option, int32(1), 4);
  const rx = new MessageBlock(65536);
  const tx = new MessageBlock(1024);
  const cookie = Buffer.from(`weft-lab ${name}`);
  // Readiness from the event loop, then non-blocking reads: no thread of the pool waits on this socket.
  serving.push(
    koffi.node.poll(fd, { readable: true }, () => {
      for (let m = rx.receive(fd); m; m = rx.receive(fd)) {
        const p = decodeSctp(sctpOfRawRead(family, m.data));
        if (p?.chunkType !== CHUNK_INIT || !ports.includes(p.dstPort) || !m.peer) continue;
        const ack = encodeSctp({ srcPort: p.dstPort, dstPort: p.srcPort, vtag: p.initiateTag ?? 0, chunkType: CHUNK_INIT_ACK, initiateTag: randomTag(), cookie });
        if (tx.send(fd, { ...m.peer, port: 0 }, m.local, ack) < 0) log("cannot send an SCTP INIT ACK", { to: m.peer.ip, from: m.local });
      }
    }),
  );
  log("serving SCTP from a raw socket (this kernel has no SCTP sockets)", { family: `IPv${family}`, ports });
}

/** A listening SCTP socket per port that answers each message with the name; IPv6's takes IPv4 too (mapped). */
function serveAssociations(name: string, ports: number[], ipv6: boolean, log: Log): void {
  for (const port of ports) {
    const local = encodeSockaddr({ ip: ipv6 ? "::" : "0.0.0.0", port });
    const fd = c().socket(addressFamily(ipv6 ? 6 : 4), SOCK_STREAM, IPPROTO_SCTP);
    if (c().bind(fd, local, local.length) < 0 || c().listen(fd, 16) < 0) log("cannot listen on SCTP", { port });
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
  log("serving SCTP with kernel sockets", { ports, ipv6 });
}

/**
 * Answers SCTP on `ports` as `name`, over IPv6 too when `ipv6` (a dual-stack pod). Without kernel SCTP:
 * a raw socket per family sees every SCTP packet that reaches this namespace and answers each INIT to
 * one of `ports`. With it: listening SCTP sockets. Runs until the process ends.
 */
export function serveSctp(name: string, ports: number[], log: Log, opts: { ipv6?: boolean } = {}): void {
  if (!ports.length) return;
  if (kernelHasSctp()) return serveAssociations(name, ports, opts.ipv6 === true, log);
  serveRaw(4, name, ports, log);
  if (opts.ipv6) serveRaw(6, name, ports, log);
}
