// An in-memory SubnetManager with the etcd one's semantics (claims, reuse, renewal, watch with a
// snapshot first), for tests and tools where etcd is not the point.
import { networkFamilies, NetworkConfigMissingError, rangeOf, subnetInNetwork, type NetworkConfig } from "./network-config.js";
import { leaseName, leasePart, partFor, type Family, type Lease, type LeaseAttrs, type LeaseEvent, type LeaseWatch, type PreviousLease, type SubnetManager } from "./subnet-manager.js";

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
    this.leases.set(leaseName(lease), lease);
    this.emit({ type: "added", lease });
    return lease;
  }

  /** As the etcd manager: this node's lease by its address of the network's first family, or the one its changed IP left. */
  async acquireLease(attrs: LeaseAttrs, previous: PreviousLease = {}): Promise<Lease> {
    const cfg = await this.getNetworkConfig();
    const first = networkFamilies(cfg)[0] ?? 4;
    const all = [...this.leases.values()];
    const own = (l: Lease) => leasePart(l, first);
    const previousOf = (f: Family): string | undefined => (f === 4 ? previous.ipv4Subnet : previous.ipv6Subnet);
    const byAddress = all.find((l) => own(l)?.publicIp === leasePart(attrs, first)?.publicIp && subnetInNetwork(rangeOf(cfg, first) ?? cfg, own(l)?.subnet ?? ""));
    const left = previous.publicIp ? all.find((l) => own(l)?.subnet === previousOf(first) && own(l)?.publicIp === previous.publicIp) : undefined;
    const mine = byAddress ?? left;
    const part = (f: Family) => partFor(cfg, f, attrs, new Set(all.filter((l) => l !== mine).flatMap((l) => leasePart(l, f)?.subnet ?? [])), mine && leasePart(mine, f)?.subnet, previousOf(f));
    const [ipv4, ipv6] = [part(4), part(6)];
    if (mine) this.leases.delete(leaseName(mine));
    return this.store({ ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}), backendType: attrs.backendType ?? "vxlan", vni: attrs.vni, expiresAt: new Date(Date.now() + this.leaseTtlSeconds * 1000) });
  }

  async renewLease(lease: Lease): Promise<Lease> {
    const renewed = { ...lease, expiresAt: new Date(Date.now() + this.leaseTtlSeconds * 1000) };
    if (!this.leases.has(leaseName(lease))) return this.store(renewed);
    this.leases.set(leaseName(lease), renewed);
    return renewed;
  }

  async releaseLease(subnet: string): Promise<void> {
    const lease = [...this.leases.values()].find((l) => l.ipv4?.subnet === subnet || l.ipv6?.subnet === subnet);
    if (!lease) return;
    this.leases.delete(leaseName(lease));
    this.emit({ type: "removed", lease });
  }

  /** Drops every lease whose time has passed, as etcd's lease expiry does. */
  expire(now = Date.now()): void {
    for (const l of [...this.leases.values()]) if (l.expiresAt.getTime() <= now) void this.releaseLease(leaseName(l));
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
