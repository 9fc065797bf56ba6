// One netlink socket (NETLINK_ROUTE, or NETLINK_NETFILTER for nf_tables batches): frames requests
// with sequence numbers, waits for the ACK (or the error, decoded with the kernel's extended-ACK
// text), and collects multipart dump replies.
import { beginMessage, finishMessage, parseErrorReply, parseMessages, type NetlinkMessage } from "./codec/message.js";
import { AF_NETLINK, EINTR, NETLINK_ROUTE, NLM_F, NLMSG, SOCK_CLOEXEC, SOCK_RAW, SOL_NETLINK } from "./codec/constants.js";
import type { Request } from "./codec/request.js";
import { NetlinkError, netlinkError } from "./errors.js";
import { getLibc, setIntOption, type Libc } from "./libc.js";
import { copyOf, writeU16LE } from "./codec/bytes.js";

const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
// Dump replies come in datagrams of up to 32 KiB on large-page systems; keep headroom.
const RECV_BUFFER_BYTES = 256 * 1024;
/**
 * One receive buffer for every socket of the process: a receive and the copy out of the buffer happen
 * in one synchronous call, so no two sockets ever use it at once. A buffer per socket made each
 * short-lived socket (weftd opens three at every resync) a 256 KiB native allocation.
 */
let sharedRx: Buffer | undefined;
const receiveBuffer = (): Buffer => (sharedRx ??= Buffer.allocUnsafe(RECV_BUFFER_BYTES));

/** sockaddr_nl of port 0: the kernel as a destination; bound to, a port id the kernel picks. */
export const KERNEL_ADDR = (() => {
  const sa = Buffer.alloc(12);
  writeU16LE(sa, AF_NETLINK, 0);
  return sa;
})();

export class NetlinkSocket {
  private seq = Math.floor(Date.now() / 1000) & 0xffffff;
  private closed = false;

  private constructor(
    private readonly libc: Libc,
    readonly fd: number,
  ) {}

  /** Opens a socket in the calling thread's current network namespace. */
  static open(protocol = NETLINK_ROUTE): NetlinkSocket {
    const libc = getLibc();
    const fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0) throw netlinkError("open socket", `netlink protocol ${protocol}`, libc.errno());
    // Extended ACKs carry the kernel's reason text; capped ACKs spare echoing our request back.
    setIntOption(libc, fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
    setIntOption(libc, fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
    return new NetlinkSocket(libc, fd);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.libc.close(this.fd);
  }

  /** Sends the requests in one datagram (a batch is only a batch when it arrives whole); returns their sequence numbers. */
  private send(...reqs: Request[]): number[] {
    if (this.closed) throw new Error("netlink: socket is closed");
    const seqs: number[] = [];
    const frames = reqs.map((req) => {
      this.seq = (this.seq + 1) >>> 0;
      seqs.push(this.seq);
      const w = beginMessage(req.type, req.flags, this.seq);
      w.bytes(req.body);
      return finishMessage(w);
    });
    const msg = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    for (;;) {
      const n = this.libc.sendto(this.fd, msg, msg.length, 0, KERNEL_ADDR, KERNEL_ADDR.length);
      if (n >= 0) return seqs;
      const errno = this.libc.errno();
      if (errno !== EINTR) throw netlinkError("send", `message type ${reqs.map((r) => r.type).join(",")}`, errno);
    }
  }

  private receive(): NetlinkMessage[] {
    for (;;) {
      const rx = receiveBuffer();
      const n = this.libc.recv(this.fd, rx, rx.length, 0);
      if (n >= 0) return parseMessages(copyOf(rx, 0, n));
      const errno = this.libc.errno();
      if (errno !== EINTR) throw netlinkError("receive", "reply", errno);
    }
  }

  /**
   * Sends one request with NLM_F_ACK and returns the replies that came before the ACK
   * (e.g. the RTM_NEWLINK answering a GETLINK). Throws a typed error naming `op` and `object`.
   */
  request(req: Request, op: string, object: string): NetlinkMessage[] {
    const [seq] = this.send({ ...req, flags: req.flags | NLM_F.ACK });
    const replies: NetlinkMessage[] = [];
    for (;;) {
      for (const msg of this.receive()) {
        if (msg.seq !== seq) continue; // a stale reply to an earlier, abandoned request
        if (msg.type === NLMSG.ERROR) {
          const err = parseErrorReply(msg);
          if (err.errno === 0) return replies;
          throw netlinkError(op, object, err.errno, err.kernelMessage);
        }
        replies.push(msg);
      }
    }
  }

  /** Sends a dump request and collects every message until NLMSG_DONE. */
  dump(req: Request, op: string, object: string): NetlinkMessage[] {
    const [seq] = this.send(req);
    const replies: NetlinkMessage[] = [];
    for (;;) {
      for (const msg of this.receive()) {
        if (msg.seq !== seq) continue;
        if (msg.type === NLMSG.DONE) {
          if (msg.flags & NLM_F.DUMP_INTR) throw new NetlinkError(op, `${object} (dump interrupted by a concurrent change; retry)`, 4);
          return replies;
        }
        if (msg.type === NLMSG.ERROR) {
          const err = parseErrorReply(msg);
          if (err.errno === 0) return replies;
          throw netlinkError(op, object, err.errno, err.kernelMessage);
        }
        replies.push(msg);
      }
    }
  }

  /**
   * Sends a batch (nf_tables: begin, changes, end) in one datagram and waits for the ACK of every
   * request that asked for one. The kernel applies a batch all or nothing: the first error throws.
   */
  transaction(reqs: Request[], op: string, object: string): void {
    const seqs = this.send(...reqs);
    const awaited = new Set(seqs.filter((_, i) => reqs[i]!.flags & NLM_F.ACK));
    while (awaited.size > 0) {
      for (const msg of this.receive()) {
        if (msg.type !== NLMSG.ERROR || !seqs.includes(msg.seq)) continue;
        const err = parseErrorReply(msg);
        if (err.errno !== 0) throw netlinkError(op, object, err.errno, err.kernelMessage);
        awaited.delete(msg.seq);
      }
    }
  }
}
