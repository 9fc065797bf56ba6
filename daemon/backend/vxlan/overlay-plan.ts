// What the kernel should hold for the other nodes' leases, and the difference from what it holds.
// Pure: the reconcile loop reads the kernel, calls `planOverlay`, and applies the result.
import { leasePart, type Lease } from "../../../ipam/subnet-manager.js";
import { intToIpv4, ipv4ToInt, parseIpv4Cidr } from "../../../ipam/ipv4.js";
import { bigIntToIpv6, ipv6ToBigInt, parseIpv6Cidr } from "../../../ipam/ipv6.js";

/** Routes weft installs carry this protocol number, so reconcile only ever removes its own. */
export const RTPROT_WEFT = 117;
export const NTF_SELF = 0x02;
export const NUD_PERMANENT = 0x80;

export interface OverlayRoute {
  dst: string;
  gateway: string;
  oif: number;
  onlink: boolean;
}
export interface OverlayNeigh {
  dst: string;
  lladdr: string;
}
export interface OverlayFdb {
  lladdr: string;
  dst: string;
}

export interface OverlayState {
  routes: OverlayRoute[];
  neighs: OverlayNeigh[];
  fdb: OverlayFdb[];
}

export interface OverlayContext {
  /** This node's own lease part of the family (its subnet and public IP), never programmed as a remote. */
  ownSubnet: string;
  ownPublicIp: string;
  vxlanIndex: number;
  underlayIndex: number;
  /** The underlay address with its prefix, e.g. "192.168.56.11/24": DirectRouting applies inside it. */
  underlayCidr: string;
  directRouting: boolean;
  /** The leases' part this plan is for: 4 on the IPv4 device, 6 on the IPv6 one over the IPv6 underlay. */
  family?: 4 | 6;
  /** host-gw: no device; every node on the same L2 routed via its address, the others not at all. */
  routesOnly?: boolean;
}

export interface OverlayPlan {
  addRoutes: OverlayRoute[];
  delRoutes: OverlayRoute[];
  addNeighs: OverlayNeigh[];
  delNeighs: OverlayNeigh[];
  addFdb: OverlayFdb[];
  delFdb: OverlayFdb[];
}

/** The subnet's network address (.0, or an IPv6 subnet's ::): the remote VTEP's address on the overlay (flannel's convention). */
export const vtepAddress = (subnet: string): string => (subnet.includes(":") ? bigIntToIpv6(parseIpv6Cidr(subnet).network) : intToIpv4(parseIpv4Cidr(subnet).network));

export function sameL2(cidr: string, ip: string): boolean {
  if (cidr.includes(":") !== ip.includes(":")) return false;
  if (ip.includes(":")) {
    const net = parseIpv6Cidr(cidr);
    const n = ipv6ToBigInt(ip);
    return n >= net.network && n <= net.last;
  }
  const net = parseIpv4Cidr(cidr);
  const n = ipv4ToInt(ip);
  return n >= net.network && n <= net.broadcast;
}

export function desiredOverlay(leases: Lease[], ctx: OverlayContext): OverlayState {
  const state: OverlayState = { routes: [], neighs: [], fdb: [] };
  for (const l of leases) {
    // The part of a remote lease that the context's family programs; a lease without it has nothing here.
    const r = leasePart(l, ctx.family ?? 4);
    if (!r || r.subnet === ctx.ownSubnet || r.publicIp === ctx.ownPublicIp) continue;
    if ((ctx.directRouting || ctx.routesOnly) && sameL2(ctx.underlayCidr, r.publicIp)) {
      state.routes.push({ dst: r.subnet, gateway: r.publicIp, oif: ctx.underlayIndex, onlink: false });
      continue;
    }
    if (ctx.routesOnly || !r.vtepMac) continue;
    const vtep = vtepAddress(r.subnet);
    state.neighs.push({ dst: vtep, lladdr: r.vtepMac });
    state.fdb.push({ lladdr: r.vtepMac, dst: r.publicIp });
    state.routes.push({ dst: r.subnet, gateway: vtep, oif: ctx.vxlanIndex, onlink: true });
  }
  return state;
}

const routeKey = (r: OverlayRoute): string => r.dst;
const sameRoute = (a: OverlayRoute, b: OverlayRoute): boolean => a.gateway === b.gateway && a.oif === b.oif && a.onlink === b.onlink;

function diff<T>(desired: T[], actual: T[], key: (t: T) => string, same: (a: T, b: T) => boolean): { add: T[]; del: T[] } {
  const have = new Map(actual.map((a) => [key(a), a]));
  const want = new Map(desired.map((d) => [key(d), d]));
  const add = desired.filter((d) => {
    const a = have.get(key(d));
    return !a || !same(a, d);
  });
  const del = actual.filter((a) => !want.has(key(a)));
  return { add, del };
}

export function planOverlay(desired: OverlayState, actual: OverlayState): OverlayPlan {
  const routes = diff(desired.routes, actual.routes, routeKey, sameRoute);
  const neighs = diff(desired.neighs, actual.neighs, (n) => n.dst, (a, b) => a.lladdr === b.lladdr);
  const fdb = diff(desired.fdb, actual.fdb, (f) => f.lladdr, (a, b) => a.dst === b.dst);
  return { addRoutes: routes.add, delRoutes: routes.del, addNeighs: neighs.add, delNeighs: neighs.del, addFdb: fdb.add, delFdb: fdb.del };
}

export const planSize = (p: OverlayPlan): number => p.addRoutes.length + p.delRoutes.length + p.addNeighs.length + p.delNeighs.length + p.addFdb.length + p.delFdb.length;

/**
 * One lease changed (`prev` → `next`; either may be absent): the kernel changes for that node alone,
 * treating `prev`'s entries as what is there. A lease event then costs the same at 10 nodes as at
 * 1,000; the periodic full reconcile still repairs anything this assumption misses.
 */
export function planLeaseChange(prev: Lease | undefined, next: Lease | undefined, ctx: OverlayContext): OverlayPlan {
  return planOverlay(desiredOverlay(next ? [next] : [], ctx), desiredOverlay(prev ? [prev] : [], ctx));
}

/** The plan's additions alone: what may still be done while etcd's view is not trusted for removals. */
export function withoutRemovals(plan: OverlayPlan): OverlayPlan {
  return { ...plan, delRoutes: [], delNeighs: [], delFdb: [] };
}
