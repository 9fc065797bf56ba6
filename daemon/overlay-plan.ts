// What the kernel should hold for the other nodes' leases, and the difference from what it holds.
// Pure: the reconcile loop reads the kernel, calls `planOverlay`, and applies the result.
import type { Lease } from "../ipam/subnet-manager.js";
import { intToIpv4, ipv4ToInt, parseIpv4Cidr } from "../ipam/ipv4.js";

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
  /** This node's own subnet, never programmed as a remote. */
  ownSubnet: string;
  ownPublicIp: string;
  vxlanIndex: number;
  underlayIndex: number;
  /** The underlay address with its prefix, e.g. "192.168.56.11/24": DirectRouting applies inside it. */
  underlayCidr: string;
  directRouting: boolean;
}

export interface OverlayPlan {
  addRoutes: OverlayRoute[];
  delRoutes: OverlayRoute[];
  addNeighs: OverlayNeigh[];
  delNeighs: OverlayNeigh[];
  addFdb: OverlayFdb[];
  delFdb: OverlayFdb[];
}

/** The subnet's .0: the remote VTEP's address on the overlay (flannel's convention). */
export const vtepAddress = (subnet: string): string => intToIpv4(parseIpv4Cidr(subnet).network);

function sameL2(cidr: string, ip: string): boolean {
  const net = parseIpv4Cidr(cidr);
  const n = ipv4ToInt(ip);
  return n >= net.network && n <= net.broadcast;
}

export function desiredOverlay(leases: Lease[], ctx: OverlayContext): OverlayState {
  const state: OverlayState = { routes: [], neighs: [], fdb: [] };
  for (const l of leases) {
    if (l.subnet === ctx.ownSubnet || l.publicIp === ctx.ownPublicIp) continue;
    if (ctx.directRouting && sameL2(ctx.underlayCidr, l.publicIp)) {
      state.routes.push({ dst: l.subnet, gateway: l.publicIp, oif: ctx.underlayIndex, onlink: false });
      continue;
    }
    const vtep = vtepAddress(l.subnet);
    state.neighs.push({ dst: vtep, lladdr: l.vtepMac });
    state.fdb.push({ lladdr: l.vtepMac, dst: l.publicIp });
    state.routes.push({ dst: l.subnet, gateway: vtep, oif: ctx.vxlanIndex, onlink: true });
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
