// The kernel's change notifications: a NETLINK_ROUTE socket that joined the multicast groups of links,
// routes and neighbours (what `ip monitor` reads), drained without blocking. Each message is the
// kernel's word that something changed — by weft's own hand or anyone else's — so a daemon can repair
// drift where it happened instead of re-reading every table on a timer. When the socket's buffer
// overflows the kernel drops notifications and says so (ENOBUFS): the reader then knows it must look
// at everything once.
import { AF_NETLINK, EINTR, NETLINK_ROUTE, RTM, SOCK_CLOEXEC, SOCK_RAW, SOL_NETLINK } from "./codec/constants.js";
import { parseMessages } from "./codec/message.js";
import { parseLink } from "./codec/link.js";
import { parseNeigh } from "./codec/neighbour.js";
import { parseRoute } from "./codec/route.js";
import { netlinkError } from "./errors.js";
import { getLibc, setIntOption, type Libc } from "./libc.js";
import { inNetns } from "./netns.js";
import type { Link, Neighbour, Route } from "./types.js";
import { KERNEL_ADDR } from "./socket.js";

const NETLINK_ADD_MEMBERSHIP = 1;
const SOL_SOCKET = 1;
const SO_RCVBUFFORCE = 33;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;
const ENOBUFS = 105;

/** rtnetlink multicast groups (RTNLGRP_*). */
export const MONITOR_GROUPS = { link: 1, neigh: 3, ipv4Route: 7, ipv6Route: 11 } as const;
export type MonitorGroup = keyof typeof MONITOR_GROUPS;

export type KernelChange =
  | { kind: "link"; op: "new" | "del"; link: Link }
  | { kind: "route"; op: "new" | "del"; route: Route }
  | { kind: "neigh"; op: "new" | "del"; neigh: Neighbour }
  /** The kernel dropped notifications (the socket's buffer was full): everything must be looked at. */
  | { kind: "overflow" };

/** One notification message as a change; undefined for a type the monitor does not follow. */
export function parseChange(type: number, payload: Buffer): KernelChange | undefined {
  switch (type) {
    case RTM.NEWLINK:
    case RTM.DELLINK:
      return { kind: "link", op: type === RTM.NEWLINK ? "new" : "del", link: parseLink(payload) };
    case RTM.NEWROUTE:
    case RTM.DELROUTE:
      return { kind: "route", op: type === RTM.NEWROUTE ? "new" : "del", route: parseRoute(payload) };
    case RTM.NEWNEIGH:
    case RTM.DELNEIGH:
      return { kind: "neigh", op: type === RTM.NEWNEIGH ? "new" : "del", neigh: parseNeigh(payload) };
    default:
      return undefined;
  }
}

export class NetlinkMonitor {
  private readonly rx = Buffer.allocUnsafe(256 * 1024);
  private closed = false;

  private constructor(
    private readonly libc: Libc,
    private readonly fd: number,
  ) {}

  /** Joins `groups` in the calling thread's namespace (or `netnsPath`'s); `bufferBytes`: room for a burst. */
  static open(groups: MonitorGroup[], opts: { netnsPath?: string; bufferBytes?: number } = {}): NetlinkMonitor {
    const make = (): NetlinkMonitor => {
      const libc = getLibc();
      const fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
      if (fd < 0) throw netlinkError("open monitor socket", "NETLINK_ROUTE", libc.errno());
      const monitor = new NetlinkMonitor(libc, fd);
      try {
        // A burst (a snapshot reprogramming thousands of nodes) must fit between two drains; root may exceed rmem_max.
        setIntOption(libc, fd, SOL_SOCKET, SO_RCVBUFFORCE, opts.bufferBytes ?? 8 * 1024 * 1024);
        // Bound (the kernel picks the port id), so the groups' messages have somewhere to go.
        if (libc.bind(fd, KERNEL_ADDR, KERNEL_ADDR.length) !== 0) throw netlinkError("bind", "monitor socket", libc.errno());
        for (const g of groups) {
          if (setIntOption(libc, fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, MONITOR_GROUPS[g]) !== 0) throw netlinkError("join multicast group", g, libc.errno());
        }
      } catch (err) {
        monitor.close();
        throw err;
      }
      return monitor;
    };
    return opts.netnsPath ? inNetns(opts.netnsPath, make) : make();
  }

  /** Every change queued since the last drain, without waiting; at most `max` messages' worth. */
  drain(max = 100_000): KernelChange[] {
    if (this.closed) return [];
    const out: KernelChange[] = [];
    while (out.length < max) {
      const n = this.libc.recv(this.fd, this.rx, this.rx.length, MSG_DONTWAIT);
      if (n < 0) {
        const errno = this.libc.errno();
        if (errno === EINTR) continue;
        if (errno === EAGAIN) break;
        if (errno === ENOBUFS) {
          out.push({ kind: "overflow" });
          continue;
        }
        throw netlinkError("receive", "notifications", errno);
      }
      for (const msg of parseMessages(Buffer.from(this.rx.subarray(0, n)))) {
        const change = parseChange(msg.type, msg.payload);
        if (change) out.push(change);
      }
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.libc.close(this.fd);
  }
}
