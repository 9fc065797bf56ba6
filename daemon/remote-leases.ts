// The other nodes' leases as weftd knows them from etcd's watch: kept by key, a snapshot replacing
// them all, and judged against the network (a lease outside it, or malformed, is logged and counted
// once, not at every snapshot and resync that meets it, and never programmed).
import { networkFamilies, rangeOf, subnetInNetwork, type NetworkConfig } from "../ipam/network-config.js";
import { leaseKey, leaseName, leasePart, type Lease, type LeaseEvent } from "../ipam/subnet-manager.js";
import type { Logger } from "./log.js";
import type { DaemonMetrics } from "./metrics.js";
import { firstPublicIp, leaseInNetwork } from "./node-lease.js";

export class RemoteLeases {
  private readonly byKey = new Map<string, Lease>();
  private readonly badSeen = new Set<string>();

  constructor(
    private readonly network: () => NetworkConfig | undefined,
    private readonly metrics: DaemonMetrics,
    private readonly log: () => Logger,
  ) {}

  /** Takes in a watch event; for an added or removed lease, returns the one it replaces or removes. */
  apply(e: LeaseEvent): Lease | undefined {
    if (e.type === "snapshot") {
      this.byKey.clear();
      for (const l of e.leases) this.byKey.set(leaseKey(l), l);
      return undefined;
    }
    const prev = this.byKey.get(leaseKey(e.lease));
    if (e.type === "added") this.byKey.set(leaseKey(e.lease), e.lease);
    else this.byKey.delete(leaseKey(e.lease));
    return prev;
  }

  has(l: Lease): boolean {
    return this.byKey.has(leaseKey(l));
  }

  /** Every lease in the network (this node's own among them). */
  valid(): Lease[] {
    return [...this.byKey.values()].filter((l) => this.isValid(l));
  }

  /** The valid leases of the other nodes: not `own`, and not another lease of `own`'s address. */
  remotesOf(own: Lease): Lease[] {
    return [...this.byKey.values()].filter((l) => leaseKey(l) !== leaseKey(own) && firstPublicIp(l) !== firstPublicIp(own) && this.isValid(l, false));
  }

  /** In the network; otherwise logged once and counted (when `report`). */
  isValid(l: Lease, report = true): boolean {
    const network = this.network();
    if (!network) return false;
    // A node running another backend cannot be reached by this one (flannel ignores such leases too).
    if (l.backendType !== network.backend.type) {
      if (report) this.reportBad(`backend:${leaseKey(l)}:${l.backendType}`, () => this.log().warn({ lease: leaseName(l), backend: l.backendType, ours: network.backend.type }, `skipping a lease of the ${l.backendType} backend: this network runs ${network.backend.type} (is that node configured with another network config?)`));
      return false;
    }
    if (leaseInNetwork(network, l)) return true;
    if (!report) return false;
    const first = networkFamilies(network)[0] ?? 4;
    const range = rangeOf(network, first);
    const own = leasePart(l, first);
    // Inside the network but not one of its subnets (another length, or misaligned): it would overlap others.
    const inside = !!range && !!own && subnetInNetwork({ ...range, subnetLen: Number(own.subnet.split("/")[1]) }, own.subnet);
    const why = !own ? `skipping a lease without an IPv${first} subnet (the network's first family)` : inside ? `skipping a lease that is not one of the network's /${range?.subnetLen} subnets (it would overlap others)` : "skipping a lease outside the network";
    this.reportBad(`invalid:${leaseKey(l)}`, () => this.log().warn({ lease: leaseName(l), network: range?.network }, why));
    return false;
  }

  /** A bad lease is logged and counted once, not again at every snapshot and resync that meets it. */
  reportBad(key: string, logIt: () => void): void {
    if (this.badSeen.has(key)) return;
    this.badSeen.add(key);
    this.metrics.badLeases.inc();
    logIt();
  }
}
