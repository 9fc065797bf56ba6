// The vxlan backend: a VXLAN device per family of the network (weft.<VNI>, weft-v6.<VNI>) and, per
// other node, an ARP entry, an FDB entry and an onlink route (or, with DirectRouting, a route via the
// node's address when it shares the underlay's L2). The lease publishes each family's VTEP MAC.
import { networkFamilies, rangeOf } from "../../../ipam/network-config.js";
import type { VxlanBackendConfig } from "../../../ipam/backend-config.js";
import { leasePart, type Lease, type LeaseAttrs } from "../../../ipam/subnet-manager.js";
import type { KernelChange } from "../../../netlink/index.js";
import type { Backend, BackendContext } from "../backend.js";
import { FamilyOverlay, VXLAN_OVERHEAD, type FamilyOverlaySpec } from "./family-overlay.js";
import { vtepMacFor } from "./vxlan-device.js";

/**
 * The overlay of every family: shared by vxlan and host-gw (`device` false: no VXLAN device, only
 * routes via the other nodes' addresses), as flannel's DirectRouting and host-gw share their routes.
 */
export class RoutedNetwork {
  protected readonly overlays: FamilyOverlay[];

  constructor(
    protected readonly ctx: BackendContext,
    private readonly backend: { vni: number; port: number; directRouting: boolean },
    device: boolean,
  ) {
    this.overlays = networkFamilies(ctx.network).map((f) => new FamilyOverlay(ctx.h, f, ctx.metrics, ctx.log, device));
  }

  /** What each family's device is built on; undefined for a family the lease lacks. */
  protected spec(o: FamilyOverlay, own: Lease): FamilyOverlaySpec | undefined {
    const part = leasePart(own, o.family);
    const address = leasePart(this.ctx.underlay, o.family);
    const { link } = this.ctx.underlay;
    if (!part || !address) return undefined;
    return { ...this.backend, subnet: part.subnet, publicIp: part.publicIp, underlay: { index: link.index, mtu: link.mtu, cidr: address.cidr } };
  }

  async ensure(own: Lease): Promise<boolean> {
    let created = false;
    for (const o of this.overlays) {
      const spec = this.spec(o, own);
      if (spec && o.ensureDevice(spec)) created = true;
    }
    return created;
  }

  async reconcile(leases: Lease[], own: Lease, removalsHeld: boolean): Promise<void> {
    for (const o of this.overlays) {
      const spec = this.spec(o, own);
      if (spec) o.reconcile(leases, o.context(spec), removalsHeld);
    }
  }

  async applyChange(prev: Lease | undefined, next: Lease | undefined, own: Lease): Promise<void> {
    for (const o of this.overlays) {
      const spec = this.spec(o, own);
      if (spec) o.applyChange(prev, next, o.context(spec));
    }
  }

  async repair(changes: KernelChange[], own: Lease): Promise<"done" | "full"> {
    let full = false;
    for (const o of this.overlays) {
      const spec = this.spec(o, own);
      if (spec && o.repair(changes, o.context(spec))) full = true;
    }
    return full ? "full" : "done";
  }

  close(): void {}
}

export class VxlanNetwork extends RoutedNetwork implements Backend {
  readonly type = "vxlan" as const;

  constructor(
    ctx: BackendContext,
    private readonly config: VxlanBackendConfig,
  ) {
    super(ctx, config, true);
  }

  /** Each family's VTEP MAC, derived from the VNI and the node's address, so it is stable across restarts. */
  async leaseAttrs(): Promise<LeaseAttrs> {
    const attrs: LeaseAttrs = { backendType: "vxlan", vni: this.config.vni };
    for (const f of networkFamilies(this.ctx.network)) {
      const ip = leasePart(this.ctx.underlay, f)?.ip;
      if (ip) attrs[f === 4 ? "ipv4" : "ipv6"] = { publicIp: ip, vtepMac: vtepMacFor(this.config.vni, ip) };
    }
    return attrs;
  }

  /** A node with IPv6 gives its pods the MTU the IPv6 overlay leaves (its outer header is 20 bytes longer). */
  podMtu(): number {
    return this.ctx.underlay.link.mtu - VXLAN_OVERHEAD[rangeOf(this.ctx.network, 6) ? 6 : 4];
  }

  problems(): string[] {
    return this.overlays.filter((o) => o.deviceMissing()).map((o) => `IPv${o.family} VXLAN device is missing (will be recreated at the next resync)`);
  }
}
