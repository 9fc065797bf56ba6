// One address family's overlay on this node: its VXLAN device (weft.<VNI> over the IPv4 underlay, or
// weft-v6.<VNI> over the IPv6 one) and the route, neighbour and FDB entries for every other node's
// lease part of that family. weftd keeps one per family of the network (IPv4, IPv6, or both); each
// reconciles on its own device, so a fault in one family never holds up the other's entries.
import { leasePart, type Lease } from "../../../ipam/subnet-manager.js";
import type { NetlinkHandle } from "../../../netlink/index.js";
import { applyOverlay, readOverlay } from "./kernel-overlay.js";
import type { Logger } from "../../log.js";
import type { DaemonMetrics } from "../../metrics.js";
import { desiredOverlay, planLeaseChange, planOverlay, planSize, vtepAddress, withoutRemovals, type OverlayContext, type OverlayPlan } from "./overlay-plan.js";
import { OverlayIndex, planRepair } from "./overlay-repair.js";
import { ensureVxlanDevice } from "./vxlan-device.js";
import type { KernelChange } from "../../../netlink/index.js";

/** Bytes VXLAN adds to a frame: outer IPv4 (20) or IPv6 (40) header, UDP (8), VXLAN (8), Ethernet (14). */
export const VXLAN_OVERHEAD = { 4: 50, 6: 70 } as const;

/** What the device is built on: this node's lease part of the family, the underlay, the backend. */
export interface FamilyOverlaySpec {
  /** This node's subnet and public address of this family (for IPv6, the lease's IPv6 part). */
  subnet: string;
  publicIp: string;
  underlay: { index: number; mtu: number; cidr: string };
  vni: number;
  port: number;
  directRouting: boolean;
}

export class FamilyOverlay {
  private index = 0;
  private mtu = 0;
  /** The leases last programmed, by what the kernel's notifications name: repairs find their lease in O(1). */
  private readonly programmed: OverlayIndex;

  /** `device` false: routes alone, via each node's address (host-gw), with no VXLAN device. */
  constructor(
    private readonly h: NetlinkHandle,
    readonly family: 4 | 6,
    private readonly metrics: DaemonMetrics,
    private readonly log: () => Logger,
    private readonly device = true,
  ) {
    this.programmed = new OverlayIndex(family);
  }

  /** Creates or repairs the device; true when it was (re)created, and every entry on it with it. */
  ensureDevice(spec: FamilyOverlaySpec): boolean {
    if (!this.device) return false;
    const { link, created } = ensureVxlanDevice(this.h, {
      vni: spec.vni,
      port: spec.port,
      localIp: spec.publicIp,
      underlayIndex: spec.underlay.index,
      mtu: spec.underlay.mtu - VXLAN_OVERHEAD[this.family],
      address: `${vtepAddress(spec.subnet)}/${this.family === 6 ? 128 : 32}`,
      family: this.family,
    });
    if (created) this.log().info({ device: link.name, vtepMac: link.mac }, "created VXLAN device");
    this.index = link.index;
    this.mtu = link.mtu;
    return created;
  }

  /** The device is gone (deleted by hand): the next reconcile makes it again. */
  deviceMissing(): boolean {
    return this.index !== 0 && !this.h.linkFind(this.index);
  }

  /** `spec`: this node's own part of the family, which identifies it among the leases. */
  context(spec: FamilyOverlaySpec): OverlayContext {
    return { ownSubnet: spec.subnet, ownPublicIp: spec.publicIp, vxlanIndex: this.index, underlayIndex: spec.underlay.index, underlayCidr: spec.underlay.cidr, directRouting: spec.directRouting, family: this.family, ...(this.device ? {} : { routesOnly: true }) };
  }

  /** Brings the kernel to what `leases` want; additions only while removals are held. */
  reconcile(leases: Lease[], ctx: OverlayContext, removalsHeld: boolean): void {
    this.programmed.rebuild(leases);
    const plan = planOverlay(desiredOverlay(leases, ctx), readOverlay(this.h, this.index, this.family));
    this.apply(removalsHeld ? withoutRemovals(plan) : plan);
  }

  /** One node's lease changed: that node's entries alone. */
  applyChange(prev: Lease | undefined, next: Lease | undefined, ctx: OverlayContext): void {
    this.programmed.change(prev, next);
    this.apply(planLeaseChange(prev, next, ctx));
  }

  /**
   * The kernel's notifications since the last call: puts back what someone else removed or altered,
   * removes weft entries no lease wants. True when only a full pass will do (the device changed, or
   * notifications were lost).
   */
  repair(changes: KernelChange[], ctx: OverlayContext): boolean {
    const plan = planRepair(changes, this.programmed, ctx, { index: this.index, mtu: this.mtu });
    if (plan.full) return true;
    this.apply(plan.stray);
    for (const lease of plan.reapply) this.apply(planLeaseChange(undefined, lease, ctx));
    if (plan.reapply.length) this.log().warn({ family: this.family, leases: plan.reapply.map((l) => leasePart(l, this.family)?.subnet) }, "repaired entries someone else removed or changed");
    return false;
  }

  /** Applies a plan, counts it, and says what changed. */
  private apply(plan: OverlayPlan): void {
    if (planSize(plan) === 0) return;
    applyOverlay(this.h, this.index, plan, this.family);
    for (const [kind, op, list] of [["route", "add", plan.addRoutes], ["route", "del", plan.delRoutes], ["arp", "add", plan.addNeighs], ["arp", "del", plan.delNeighs], ["fdb", "add", plan.addFdb], ["fdb", "del", plan.delFdb]] as const) {
      if (list.length) this.metrics.kernelChanges.inc({ kind, op }, list.length);
    }
    this.log().info({ family: this.family, routesAdded: plan.addRoutes.map((r) => r.dst), routesRemoved: plan.delRoutes.map((r) => r.dst), arp: plan.addNeighs.length - plan.delNeighs.length, fdb: plan.addFdb.length - plan.delFdb.length }, "overlay reconciled");
  }
}
