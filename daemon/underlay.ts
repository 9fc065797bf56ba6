// The underlay: which interface and addresses carry VXLAN. The interface: --iface (a name, or an
// address of either family), else the interface of the default route (IPv4's, or IPv6's on a node
// without one), with a warning when several interfaces have addresses (on Vagrant the default route is
// the NAT interface, and --iface must name the private network's). Its address of each family the
// network has: the first with a real prefix (not a /32 or /128 a load-balancer speaker or keepalived
// added), or --public-ip / --public-ipv6.
import { isIP } from "node:net";
import { type Link, type NetlinkHandle } from "../netlink/index.js";

export interface UnderlayAddress {
  ip: string;
  /** The address with its prefix, e.g. "192.168.56.11/24": DirectRouting applies inside it. */
  cidr: string;
}

export class UnderlayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnderlayError";
  }
}

const globalAddresses = (h: NetlinkHandle, family: 4 | 6, index?: number) => h.addrList(index, family).filter((a) => a.scope === "universe" && a.address !== "127.0.0.1");

export function findUnderlayLink(h: NetlinkHandle, iface: string | undefined, warn: (msg: string, fields: object) => void): Link {
  if (iface && isIP(iface)) {
    const index = globalAddresses(h, isIP(iface) === 6 ? 6 : 4).find((a) => a.address === iface)?.ifindex;
    if (index === undefined) throw new UnderlayError(`--iface ${iface}: no interface has this address`);
    return h.linkGet(index);
  }
  if (iface) {
    const link = h.linkFind(iface);
    if (!link) throw new UnderlayError(`--iface ${iface}: no such interface`);
    return link;
  }
  const def = ([4, 6] as const).map((family) => h.routeList({ family }).find((r) => r.dst === undefined && r.oif)).find((r) => r);
  if (!def?.oif) throw new UnderlayError("no default route to pick the underlay interface from: pass --iface");
  const candidates = new Set([...globalAddresses(h, 4), ...globalAddresses(h, 6)].map((a) => a.ifindex));
  if (candidates.size > 1) warn("several interfaces have addresses; using the default route's. Pass --iface if VXLAN should use another (e.g. Vagrant's private network)", { candidates: [...candidates] });
  return h.linkGet(def.oif);
}

/** `link`'s address of `family`, or `given` (--public-ip or --public-ipv6) when set; `network` names the pod network in the error. */
export function underlayAddress(h: NetlinkHandle, link: Link, family: 4 | 6, given: string | undefined, network: string): UnderlayAddress {
  const host = family === 6 ? 128 : 32;
  const own = globalAddresses(h, family, link.index);
  const chosen = given ? (own.find((a) => a.address === given) ?? { address: given, prefixLen: host }) : (own.find((a) => a.prefixLen < host) ?? own[0]);
  if (!chosen) throw new UnderlayError(`the network has IPv${family} (${network}) but interface ${link.name} has no ${family === 6 ? "global IPv6" : "IPv4"} address: give it one, or pass ${family === 6 ? "--public-ipv6" : "--public-ip"}`);
  return { ip: chosen.address, cidr: `${chosen.address}/${chosen.prefixLen}` };
}
