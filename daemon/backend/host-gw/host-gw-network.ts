// The host-gw backend (flannel's): no device and no encapsulation, a route to each other node's subnet
// via that node's underlay address. It works only where every node shares one L2 segment; a node that
// is not on this node's underlay subnet cannot be reached this way, and is refused loudly (logged once,
// counted, and named in /readyz) instead of being given a route the kernel would reject or blackhole.
import { networkFamilies } from "../../../ipam/network-config.js";
import { leaseName, leasePart, type Lease, type LeaseAttrs } from "../../../ipam/subnet-manager.js";
import { BackendError, type Backend, type BackendContext } from "../backend.js";
import { sameL2 } from "../vxlan/overlay-plan.js";
import { RoutedNetwork } from "../vxlan/vxlan-network.js";

export class HostGwNetwork extends RoutedNetwork implements Backend {
  readonly type = "host-gw" as const;
  /** Leases of nodes not on this node's L2, by name, with why. */
  private readonly unreachable = new Map<string, string>();
  /** Logged and counted once each, not at every resync that meets them again. */
  private readonly reported = new Set<string>();

  constructor(ctx: BackendContext) {
    super(ctx, { vni: 0, port: 0, directRouting: true }, false);
  }

  /** flannel's check: a public IP that is not the interface's means a NAT between nodes, which host-gw cannot cross. */
  async leaseAttrs(): Promise<LeaseAttrs> {
    const attrs: LeaseAttrs = { backendType: "host-gw", vni: 0 };
    for (const f of networkFamilies(this.ctx.network)) {
      const address = leasePart(this.ctx.underlay, f);
      if (!address) continue;
      if (!this.ctx.h.addrList(this.ctx.underlay.link.index, f).some((a) => a.address === address.ip)) {
        throw new BackendError(`host-gw: the public IP ${address.ip} is not an address of ${this.ctx.underlay.link.name} (a NAT between nodes?): host-gw needs the nodes on one L2 segment; use the vxlan or wireguard backend`);
      }
      attrs[f === 4 ? "ipv4" : "ipv6"] = { publicIp: address.ip };
    }
    return attrs;
  }

  podMtu(): number {
    return this.ctx.underlay.link.mtu;
  }

  override async reconcile(leases: Lease[], own: Lease, removalsHeld: boolean): Promise<void> {
    this.unreachable.clear();
    for (const l of leases) this.judge(l, own);
    await super.reconcile(leases, own, removalsHeld);
  }

  override async applyChange(prev: Lease | undefined, next: Lease | undefined, own: Lease): Promise<void> {
    if (prev) this.unreachable.delete(leaseName(prev));
    if (next) this.judge(next, own);
    await super.applyChange(prev, next, own);
  }

  /** Notes (and logs, the first time) a node that is not on this node's L2 in some family. */
  private judge(l: Lease, own: Lease): void {
    if (leaseName(l) === leaseName(own)) return;
    for (const f of networkFamilies(this.ctx.network)) {
      const part = leasePart(l, f);
      const mine = leasePart(this.ctx.underlay, f);
      if (!part || !mine || sameL2(mine.cidr, part.publicIp)) continue;
      const why = `host-gw cannot reach node ${part.publicIp} (subnet ${part.subnet}): it is not on this node's underlay ${mine.cidr}; host-gw needs every node on one L2 segment (use vxlan, or wireguard)`;
      if (!this.reported.has(`${leaseName(l)} ${part.publicIp}`)) {
        this.reported.add(`${leaseName(l)} ${part.publicIp}`);
        this.ctx.metrics.badLeases.inc();
        this.ctx.log().error({ lease: leaseName(l), publicIp: part.publicIp, underlay: mine.cidr }, why);
      }
      this.unreachable.set(leaseName(l), why);
    }
  }

  problems(): string[] {
    return [...this.unreachable.values()];
  }
}
