// The firewall rules weftd keeps on its node: NAT and FORWARD accepts for pod traffic (iptables) and
// the anti-spoofing filter (nftables). Both are written by starting a process, so they run off the
// event loop, one run of each at a time: a lease event never waits behind them, and a slow run is
// not stacked by the next resync.
import { nftGeneration } from "../netlink/index.js";
import type { Logger } from "./log.js";
import { iptablesUsesNftables, NatRulesKeeper } from "./masquerade.js";
import type { DaemonMetrics } from "./metrics.js";
import { PodFilterKeeper, readPodFilterCounters, removePodFilter, type PodFilterSync } from "./pod-filter.js";
import type { RecordedPod } from "../ipam/pod-ip-store.js";

export interface NodeRulesOptions {
  ipMasq: boolean;
  antiSpoofing: boolean;
  /** Reads the plugin's IP records afresh: the pods the filter must hold. */
  listPods: () => RecordedPod[];
  /** The weft pod ports the kernel has: the pods that run. */
  listPorts: () => string[];
  /** Where the records are read from, and how to point weftd elsewhere: for the report of ports without one. */
  recordsAt: () => string;
  /** The node's pods have IPv6 (dual-stack or IPv6-only): the filter checks it too. */
  ipv6: boolean;
  /** False on an IPv6-only node (its pods have no IPv4 to send from). */
  ipv4?: boolean;
}

/** The pod network and this node's subnet of each family: what the NAT rules are written for. */
export interface NodeAddressing {
  ipv4?: { network: string; subnet: string };
  ipv6?: { network: string; subnet: string };
}

export class NodeRules {
  private readonly running = new Set<string>();
  private nat: NatRulesKeeper | undefined;
  private nat6: NatRulesKeeper | undefined;
  /** Whether iptables writes through nf_tables (its changes then move the ruleset generation): asked once. */
  private iptablesNft: boolean | undefined;
  private readonly podFilter = new PodFilterKeeper(() => nftGeneration(), () => readPodFilterCounters());
  private podFilterProblem: string | undefined;
  /** Ports without an IP record at the last sync, and what was last said of them. */
  private unrecordedBefore = new Set<string>();
  private unrecordedReport: string | undefined;
  /** The filter's drop counters at the last read: the metrics grow by the difference. */
  private readonly filterCountersSeen: { spoofed?: number; other?: number } = {};

  constructor(
    private readonly opts: NodeRulesOptions,
    private readonly metrics: DaemonMetrics,
    private readonly log: Logger,
  ) {}

  /** What /readyz reports while the filter cannot be applied, or running pods have no IP record to check them by. */
  problems(): string[] {
    return [this.podFilterProblem, this.unrecordedReport].filter((p): p is string => p !== undefined);
  }

  /**
   * At every resync: both writers, each skipped while its previous run is still going. `pods`: the
   * IP records as listed for this resync (listed here when the caller could not).
   */
  resync(addressing: NodeAddressing, pods?: RecordedPod[]): void {
    void this.exclusive("nat", () => this.ensureNat(addressing));
    void this.exclusive("pod filter", () => this.ensurePodFilter(pods));
  }

  private async exclusive(name: string, fn: () => Promise<void>): Promise<void> {
    if (this.running.has(name)) return;
    this.running.add(name);
    try {
      await fn();
    } finally {
      this.running.delete(name);
    }
  }

  async ensureNat({ ipv4, ipv6 }: NodeAddressing): Promise<void> {
    try {
      // Asked once: `iptables --version` is a process start, and the answer does not change under weftd.
      this.iptablesNft ??= await iptablesUsesNftables();
      const generation = this.iptablesNft ? () => nftGeneration() : undefined;
      if (ipv4) {
        this.nat ??= new NatRulesKeeper(generation);
        await this.nat.ensure(ipv4.network, ipv4.subnet, this.opts.ipMasq);
      }
      if (ipv6) {
        this.nat6 ??= new NatRulesKeeper(generation, undefined, 6);
        await this.nat6.ensure(ipv6.network, ipv6.subnet, this.opts.ipMasq);
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "could not apply NAT/forward rules; will retry at the next resync");
    }
  }

  async ensurePodFilter(pods?: RecordedPod[]): Promise<void> {
    try {
      if (!this.opts.antiSpoofing) {
        if (await removePodFilter()) this.log.warn("anti-spoofing filter removed (--no-anti-spoofing): pods can send from any address");
        return;
      }
      const r = await this.podFilter.sync({ allocations: pods ?? this.opts.listPods(), relist: this.opts.listPods, ports: this.opts.listPorts(), ipv6: this.opts.ipv6 });
      this.reportUnrecorded(r);
      if (r.tableWritten) this.log.info(`anti-spoofing filter in place: each pod sends only from its own MAC and ${this.opts.ipv4 === false ? "IPv6" : this.opts.ipv6 ? "IPv4 and IPv6" : "IPv4"} address`);
      if (r.added || r.removed) this.log.info({ added: r.added, removed: r.removed }, "anti-spoofing entries repaired from the pod IP records");
      this.metrics.podFilterEntries.set(r.entries);
      const spoofed = this.counterDelta("spoofed", r.droppedFrames);
      if (spoofed > 0) this.log.warn({ frames: spoofed }, "dropped IPv4/ARP frames that pods sent from a MAC or address not their own");
      this.metrics.spoofedFrames.inc(spoofed);
      this.metrics.nonIpv4Frames.inc(this.counterDelta("other", r.droppedOther));
      this.podFilterProblem = undefined;
    } catch (err) {
      this.podFilterProblem = `anti-spoofing filter not applied: ${(err as Error).message.split("\n")[0]} (is nft installed? --no-anti-spoofing turns it off)`;
      this.log.error({ err: (err as Error).message }, "could not apply the anti-spoofing filter; retrying at the next resync");
    }
  }

  /**
   * Running pods whose port has no IP record where weftd reads them: the plugin keeps its records
   * somewhere else. Their entries are kept and a port without one is let through unfiltered; said in
   * /readyz and logged when it changes, once a second sync in a row sees the same port (a DEL or GC in
   * flight removes the record a moment before the port).
   */
  private reportUnrecorded(r: Pick<PodFilterSync, "unrecorded" | "unverified">): void {
    const now = new Map<string, string>([...r.unrecorded.map((e) => [e.hostVeth, `${e.hostVeth} (${e.ip}, entry kept)`] as const), ...r.unverified.map((p) => [p, `${p} (no entry: not filtered)`] as const)]);
    const confirmed = [...now].filter(([port]) => this.unrecordedBefore.has(port)).map(([, what]) => what).sort();
    this.unrecordedBefore = new Set(now.keys());
    const report = confirmed.length
      ? `anti-spoofing: ${confirmed.length} running pod port(s) have no IP record in ${this.opts.recordsAt()}: ${confirmed.slice(0, 5).join(", ")}${confirmed.length > 5 ? ", …" : ""}. The plugin keeps its records where its conflist says (dataDir/name); make weftd read that conflist (--cni-conf-dir: the runtime's CNI conf dir) or name the records with --data-dir and --cni-network`
      : undefined;
    if (report !== this.unrecordedReport) {
      if (report) this.log.error({ ports: confirmed }, report);
      else if (this.unrecordedReport) this.log.info("every running pod port has its IP record again");
    }
    this.unrecordedReport = report;
    this.metrics.podFilterUnrecorded.set(confirmed.length);
  }

  /**
   * What a kernel counter gained since the last read: all of it when the table was recreated (the
   * counter restarted), nothing at this process's first read (what came before was counted by the last).
   */
  private counterDelta(name: "spoofed" | "other", now: number): number {
    const before = this.filterCountersSeen[name];
    this.filterCountersSeen[name] = now;
    if (before === undefined) return 0;
    return now < before ? now : now - before;
  }
}
