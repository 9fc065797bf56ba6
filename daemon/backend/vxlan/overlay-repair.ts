// Drift repair from the kernel's own notifications (pure): which leases' entries a change undid, and
// which weft entries no lease wants. Our own changes come back as notifications too; they match what
// the leases want and cost a map lookup each. A change to the device itself asks for a full pass.
import { leasePart, type Lease } from "../../../ipam/subnet-manager.js";
import type { KernelChange, Neighbour, Route } from "../../../netlink/index.js";
import { desiredOverlay, RTPROT_WEFT, vtepAddress, type OverlayContext, type OverlayPlan } from "./overlay-plan.js";

/** The leases by what their kernel entries are keyed on: subnet (routes), VTEP address (ARP/ND), VTEP MAC (FDB). */
export class OverlayIndex {
  private readonly bySubnet = new Map<string, Lease>();
  private readonly byVtep = new Map<string, Lease>();
  private readonly byMac = new Map<string, Lease>();

  constructor(readonly family: 4 | 6) {}

  rebuild(leases: Lease[]): void {
    for (const m of [this.bySubnet, this.byVtep, this.byMac]) m.clear();
    for (const l of leases) this.add(l);
  }

  change(prev: Lease | undefined, next: Lease | undefined): void {
    if (prev) this.remove(prev);
    if (next) this.add(next);
  }

  private add(l: Lease): void {
    const p = leasePart(l, this.family);
    if (!p) return;
    this.bySubnet.set(p.subnet, l);
    this.byVtep.set(vtepAddress(p.subnet), l);
    if (p.vtepMac) this.byMac.set(p.vtepMac, l);
  }

  /** Removes what `l` put in, unless another lease took the key since (same subnet: the same node). */
  private remove(l: Lease): void {
    const p = leasePart(l, this.family);
    if (!p) return;
    const mine = (m: Map<string, Lease>, key: string): void => {
      if (leasePart(m.get(key) ?? {}, this.family)?.subnet === p.subnet) m.delete(key);
    };
    mine(this.bySubnet, p.subnet);
    mine(this.byVtep, vtepAddress(p.subnet));
    if (p.vtepMac) mine(this.byMac, p.vtepMac);
  }

  route(dst: string): Lease | undefined {
    return this.bySubnet.get(dst);
  }

  neigh(n: Neighbour): Lease | undefined {
    return n.family === "bridge" ? (n.lladdr ? this.byMac.get(n.lladdr) : undefined) : n.dst ? this.byVtep.get(n.dst) : undefined;
  }
}

export interface RepairPlan {
  /** Leases whose entries a change removed or altered: programmed again (replace is idempotent). */
  reapply: Lease[];
  /** weft entries no lease wants (added by someone else, or left behind): removed. */
  stray: OverlayPlan;
  /** The device changed (deleted, down, another MTU) or notifications were lost: everything is looked at. */
  full: boolean;
}

const emptyPlan = (): OverlayPlan => ({ addRoutes: [], delRoutes: [], addNeighs: [], delNeighs: [], addFdb: [], delFdb: [] });

const sameRoute = (want: { gateway: string; oif: number; onlink: boolean }, r: Route): boolean => want.gateway === r.gateway && want.oif === r.oif && want.onlink === (r.onlink === true);

/** What `changes` mean for one family's overlay, judged against the leases in `index`. */
export function planRepair(changes: KernelChange[], index: OverlayIndex, ctx: OverlayContext, device: { index: number; mtu: number }): RepairPlan {
  const plan: RepairPlan = { reapply: [], stray: emptyPlan(), full: false };
  const reapply = new Set<Lease>();
  const family = ctx.family ?? 4;
  for (const c of changes) {
    if (c.kind === "overflow") plan.full = true;
    else if (c.kind === "link") {
      if (device.index && c.link.index === device.index && (c.op === "del" || !c.link.up || c.link.mtu !== device.mtu)) plan.full = true;
    } else if (c.kind === "route") {
      const r = c.route;
      if (r.protocol !== RTPROT_WEFT || r.family !== family || !r.dst || !r.gateway || !r.oif) continue;
      const lease = index.route(r.dst);
      const want = lease ? desiredOverlay([lease], ctx).routes.find((x) => x.dst === r.dst) : undefined;
      if (c.op === "del") {
        if (want) reapply.add(lease as Lease);
      } else if (!want) plan.stray.delRoutes.push({ dst: r.dst, gateway: r.gateway, oif: r.oif, onlink: r.onlink === true });
      else if (!sameRoute(want, r)) reapply.add(lease as Lease);
    } else {
      const n = c.neigh;
      if (!device.index || n.ifindex !== device.index || (n.family !== family && n.family !== "bridge") || !n.dst || !n.lladdr) continue;
      const lease = index.neigh(n);
      const want = lease && desiredOverlay([lease], ctx);
      const wanted = n.family === "bridge" ? want?.fdb.find((f) => f.lladdr === n.lladdr && f.dst === n.dst) : want?.neighs.find((x) => x.dst === n.dst && x.lladdr === n.lladdr);
      if (c.op === "del") {
        if (wanted) reapply.add(lease as Lease);
      } else if (!wanted) {
        if (lease) reapply.add(lease); // ours altered (another MAC, another VTEP): put it back
        else if (n.family === "bridge") plan.stray.delFdb.push({ lladdr: n.lladdr, dst: n.dst });
        else plan.stray.delNeighs.push({ dst: n.dst, lladdr: n.lladdr });
      }
    }
  }
  plan.reapply = [...reapply];
  return plan;
}
