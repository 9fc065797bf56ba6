// The underlay: which interface and address carry VXLAN. Default: the interface of the default route
// (with a warning when several interfaces have addresses: on Vagrant the default route is the NAT
// interface, and --iface must name the private network's).
import { type Link, type NetlinkHandle } from "../netlink/index.js";

export interface Underlay {
  link: Link;
  ip: string;
  cidr: string;
}

export class UnderlayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnderlayError";
  }
}

export function findUnderlay(h: NetlinkHandle, opts: { iface?: string; publicIp?: string }, warn: (msg: string, fields: object) => void): Underlay {
  const addrs = h.addrList(undefined, 4).filter((a) => a.scope === "universe" && a.address !== "127.0.0.1");
  let index: number | undefined;
  if (opts.iface && /^\d+\.\d+\.\d+\.\d+$/.test(opts.iface)) {
    index = addrs.find((a) => a.address === opts.iface)?.ifindex;
    if (index === undefined) throw new UnderlayError(`--iface ${opts.iface}: no interface has this address`);
  } else if (opts.iface) {
    const link = h.linkFind(opts.iface);
    if (!link) throw new UnderlayError(`--iface ${opts.iface}: no such interface`);
    index = link.index;
  } else {
    const def = h.routeList({ family: 4 }).find((r) => r.dst === undefined && r.oif);
    if (!def?.oif) throw new UnderlayError("no default route to pick the underlay interface from: pass --iface");
    index = def.oif;
    const candidates = new Set(addrs.map((a) => a.ifindex));
    if (candidates.size > 1) warn("several interfaces have addresses; using the default route's. Pass --iface if VXLAN should use another (e.g. Vagrant's private network)", { candidates: [...candidates] });
  }
  const link = h.linkGet(index);
  const own = addrs.filter((a) => a.ifindex === index);
  // The node's own address, not a /32 that a load-balancer speaker or keepalived added to the same
  // interface (a node whose address changed may list such a VIP first): the first with a real prefix.
  const chosen = opts.publicIp ? own.find((a) => a.address === opts.publicIp) ?? { address: opts.publicIp, prefixLen: 32 } : (own.find((a) => a.prefixLen < 32) ?? own[0]);
  if (!chosen) throw new UnderlayError(`interface ${link.name} has no IPv4 address`);
  return { link, ip: chosen.address, cidr: `${chosen.address}/${chosen.prefixLen}` };
}

/**
 * A dual-stack node's IPv6 underlay: a global address on the IPv4 underlay's interface (the first with
 * a real prefix, as for IPv4), or `publicIpv6` when given.
 */
export function findUnderlayIpv6(h: NetlinkHandle, link: Link, publicIpv6: string | undefined, network: string): { ip: string; cidr: string } {
  const own = h.addrList(link.index, 6).filter((a) => a.scope === "universe");
  const chosen = publicIpv6 ? (own.find((a) => a.address === publicIpv6) ?? { address: publicIpv6, prefixLen: 128 }) : (own.find((a) => a.prefixLen < 128) ?? own[0]);
  if (!chosen) throw new UnderlayError(`the network has IPv6 (${network}) but interface ${link.name} has no global IPv6 address: give it one, or pass --public-ipv6`);
  return { ip: chosen.address, cidr: `${chosen.address}/${chosen.prefixLen}` };
}
