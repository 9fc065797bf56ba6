// An in-memory SubnetManager with the etcd one's semantics (claims, reuse, renewal, watch with a
// snapshot first), for tests and tools where etcd is not the point.
import { NetworkConfigMissingError, subnetInNetwork, type NetworkConfig } from "./network-config.js";
import { ipv6PartFor, pickFreeSubnet, type Lease, type LeaseAttrs, type LeaseEvent, type LeaseWatch, type SubnetManager } from "./subnet-manager.js";

export class MemorySubnetManager implements SubnetManager {
  private readonly leases = new Map<string, Lease>();
  private readonly watchers = new Set<(e: LeaseEvent) => void>();

  constructor(
    private config: NetworkConfig | undefined,
    private readonly leaseTtlSeconds = 86_400,
  ) {}

  setNetworkConfig(cfg: NetworkConfig): void {
    this.config = cfg;
  }

  async getNetworkConfig(): Promise<NetworkConfig> {
    if (!this.config) throw new NetworkConfigMissingError("no network config in the in-memory subnet manager");
    return this.config;
  }

  private emit(e: LeaseEvent): void {
    for (const w of this.watchers) w(e);
  }

  private store(lease: Lease): Lease {
    this.leases.set(lease.subnet, lease);
    this.emit({ type: "added", lease });
    return lease;
  }

  async acquireLease(attrs: LeaseAttrs, opts: { previousSubnet?: string; previousPublicIp?: string; previousIpv6Subnet?: string } = {}): Promise<Lease> {
    const cfg = await this.getNetworkConfig();
    const expiresAt = new Date(Date.now() + this.leaseTtlSeconds * 1000);
    const byAddress = [...this.leases.values()].find((l) => l.publicIp === attrs.publicIp && subnetInNetwork(cfg, l.subnet));
    // As the etcd manager: a node whose IP changed takes back the lease that still names its old IP.
    const left = opts.previousSubnet && opts.previousPublicIp && opts.previousPublicIp !== attrs.publicIp ? this.leases.get(opts.previousSubnet) : undefined;
    const mine = byAddress ?? (left?.publicIp === opts.previousPublicIp ? left : undefined);
    const taken6 = new Set([...this.leases.values()].flatMap((l) => l.ipv6?.subnet ?? []));
    const ipv6 = ipv6PartFor(cfg, attrs, taken6, mine, opts.previousIpv6Subnet);
    const v4 = { publicIp: attrs.publicIp, vtepMac: attrs.vtepMac, vni: attrs.vni, ...(ipv6 ? { ipv6 } : {}), expiresAt };
    if (mine) return this.store({ subnet: mine.subnet, backendType: "vxlan", ...v4 });
    const previous = opts.previousSubnet && subnetInNetwork(cfg, opts.previousSubnet) && !this.leases.has(opts.previousSubnet) ? opts.previousSubnet : undefined;
    return this.store({ subnet: previous ?? pickFreeSubnet(cfg, new Set(this.leases.keys())), backendType: "vxlan", ...v4 });
  }

  async renewLease(lease: Lease): Promise<Lease> {
    const renewed = { ...lease, expiresAt: new Date(Date.now() + this.leaseTtlSeconds * 1000) };
    if (!this.leases.has(lease.subnet)) return this.store(renewed);
    this.leases.set(lease.subnet, renewed);
    return renewed;
  }

  async releaseLease(subnet: string): Promise<void> {
    const lease = this.leases.get(subnet);
    if (!lease) return;
    this.leases.delete(subnet);
    this.emit({ type: "removed", lease });
  }

  /** Drops every lease whose time has passed, as etcd's lease expiry does. */
  expire(now = Date.now()): void {
    for (const l of [...this.leases.values()]) if (l.expiresAt.getTime() <= now) void this.releaseLease(l.subnet);
  }

  async listLeases(): Promise<Lease[]> {
    return [...this.leases.values()];
  }

  watchLeases(onEvent: (e: LeaseEvent) => void): LeaseWatch {
    this.watchers.add(onEvent);
    onEvent({ type: "snapshot", leases: [...this.leases.values()] });
    return { live: () => this.watchers.has(onEvent), noticeRevision: () => undefined, close: () => void this.watchers.delete(onEvent) };
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }
}
