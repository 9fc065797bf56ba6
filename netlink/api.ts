// The contract of a netlink handle: what cni/ and daemon/ may call. The implementation
// (netlink/handle.ts) satisfies this interface; `openHandle` is the only way to get one.
import type { Address, Family, Link, LinkOptions, LinkRef, NeighFilter, Neighbour, Route, RouteFilter, VethOptions, VxlanOptions } from "./types.js";

export interface NetlinkHandle {
  /** Path of the namespace this handle is bound to (undefined: the caller's own). */
  readonly netnsPath: string | undefined;
  close(): void;

  // links
  linkGet(ref: LinkRef): Link; // throws NotFoundError
  linkFind(ref: LinkRef): Link | undefined;
  linkList(): Link[];
  linkAddBridge(name: string, opts?: LinkOptions): Link;
  /** Creates a veth pair; the peer is created directly in `opts.peerNetnsPath` when given. Returns the host side. */
  linkAddVeth(name: string, peerName: string, opts?: VethOptions): Link;
  linkAddVxlan(name: string, opts: VxlanOptions): Link;
  /** A kernel WireGuard device (EOPNOTSUPP where the kernel has no wireguard module); configured over generic netlink. */
  linkAddWireguard(name: string, opts?: LinkOptions): Link;
  linkSetUp(ref: LinkRef): void;
  linkSetDown(ref: LinkRef): void;
  linkSetMtu(ref: LinkRef, mtu: number): void;
  linkSetMac(ref: LinkRef, mac: string): void;
  linkSetMaster(ref: LinkRef, master: LinkRef | null): void;
  linkSetName(ref: LinkRef, name: string): void;
  linkSetNetns(ref: LinkRef, netnsPath: string): void;
  /** Bridge-port hairpin mode (IFLA_BRPORT_MODE); the link must be enslaved to a bridge. */
  linkSetHairpin(ref: LinkRef, on: boolean): void;
  linkDelete(ref: LinkRef): void; // throws NotFoundError

  // addresses
  addrAdd(ref: LinkRef, cidr: string): void; // throws ExistsError
  addrReplace(ref: LinkRef, cidr: string): void;
  addrDel(ref: LinkRef, cidr: string): void; // throws NotFoundError
  addrList(ref?: LinkRef, family?: Family): Address[];

  // routes
  routeAdd(route: Route): void; // throws ExistsError
  routeReplace(route: Route): void;
  routeDel(route: Route): void; // throws NotFoundError
  routeList(filter?: RouteFilter): Route[];

  // neighbours (ARP/ND) and bridge FDB entries
  neighAdd(neigh: Neighbour): void;
  neighReplace(neigh: Neighbour): void;
  neighDel(neigh: Neighbour): void;
  neighList(filter?: NeighFilter): Neighbour[];
}
