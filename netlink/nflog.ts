// An NFLOG reader: a NETLINK_NETFILTER socket bound to one nfnetlink_log group in the calling thread's
// network namespace, drained without blocking (as the rtnetlink monitor is). Only one socket of a
// namespace can hold a group; the kernel forgets the binding when the socket closes. When the socket's
// buffer overflows the kernel drops packet messages and says so (ENOBUFS), which the reader counts.
import { EINTR } from "./codec/constants.js";
import { parseMessages } from "./codec/message.js";
import { NETLINK_NETFILTER } from "./codec/nftables.js";
import { buildNflogBind, parseNflogPacket, type NflogBindOptions, type NflogPacket } from "./codec/nflog.js";
import { netlinkError } from "./errors.js";
import { getLibc, setIntOption, type Libc } from "./libc.js";
import { NetlinkSocket } from "./socket.js";

const SOL_SOCKET = 1;
const SO_RCVBUFFORCE = 33;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const ENOBUFS = 105;

export type { NflogPacket } from "./codec/nflog.js";

export interface NflogDrain {
  packets: NflogPacket[];
  /** Times the kernel said it dropped messages because the socket's buffer was full. */
  overruns: number;
}

export interface NflogOpenOptions extends Partial<Omit<NflogBindOptions, "group">> {
  /** Room for a burst between two drains. */
  bufferBytes?: number;
}

export class NflogReader {
  private readonly rx = Buffer.allocUnsafe(256 * 1024);
  private closed = false;

  private constructor(
    private readonly libc: Libc,
    private readonly sock: NetlinkSocket,
    readonly group: number,
  ) {}

  /**
   * Binds `group` in the calling thread's namespace. Throws a NetlinkError naming the group when the
   * kernel has no nfnetlink_log (EPROTONOSUPPORT, ENOENT) or another socket holds it (EBUSY).
   */
  static open(group: number, o: NflogOpenOptions = {}): NflogReader {
    const libc = getLibc();
    const sock = NetlinkSocket.open(NETLINK_NETFILTER);
    try {
      setIntOption(libc, sock.fd, SOL_SOCKET, SO_RCVBUFFORCE, o.bufferBytes ?? 1024 * 1024);
      const bind = buildNflogBind({ group, copyRange: o.copyRange ?? 96, flushMs: o.flushMs ?? 100, queueThreshold: o.queueThreshold ?? 32 });
      sock.request(bind, "bind", `NFLOG group ${group}`);
    } catch (err) {
      sock.close();
      throw err;
    }
    return new NflogReader(libc, sock, group);
  }

  /** Every packet logged since the last drain, without waiting; at most `max` of them. */
  drain(max = 10_000): NflogDrain {
    const out: NflogDrain = { packets: [], overruns: 0 };
    if (this.closed) return out;
    while (out.packets.length < max) {
      const n = this.libc.recv(this.sock.fd, this.rx, this.rx.length, MSG_DONTWAIT);
      if (n < 0) {
        const errno = this.libc.errno();
        if (errno === EINTR) continue;
        if (errno === EAGAIN) break;
        if (errno === ENOBUFS) {
          out.overruns++;
          continue;
        }
        throw netlinkError("receive", `NFLOG group ${this.group}`, errno);
      }
      for (const msg of parseMessages(Buffer.from(this.rx.subarray(0, n)))) {
        const packet = parseNflogPacket(msg);
        if (packet) out.packets.push(packet);
      }
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
  }
}
