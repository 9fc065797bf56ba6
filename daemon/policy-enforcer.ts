// NetworkPolicy and ClusterNetworkPolicy enforced on this node: the model's Cluster is built from the
// API's stores and the plugin's records, compiled for this node and applied to table inet weft-policy
// (policy-table.ts). Every change (a watch event, a record the plugin wrote) schedules one sync ~20 ms
// later, so a burst of events is one transaction. A sync whose changes are pods or namespace labels
// only is set elements (pod-delta.ts) written over netlink, without a compile; anything else, or a
// failed element write, compiles the cluster. Nothing is written before every watch has listed: a
// weftd that restarts leaves the previous table in the kernel until it can replace it whole.
import { watch, type FSWatcher } from "node:fs";
import type { RecordedPod } from "../ipam/pod-ip-store.js";
import type { KubeWatches, Pod } from "./kube-watches.js";
import type { Logger } from "./log.js";
import { buildCluster, ownNodeName, type BuiltCluster } from "./policy-cluster.js";
import type { PolicyMetrics } from "./policy-metrics.js";
import { PolicyApplyError, type ApplyKind, type PolicyTable } from "./policy-table.js";
import { compile } from "./policy/compile.js";
import type { CompiledRuleset } from "./policy/nft-ruleset.js";
import { podDelta } from "./policy/pod-delta.js";
import type { Cluster } from "./policy/types.js";

export const COALESCE_MS = 20;
/**
 * A record the plugin wrote is a new pod it holds until weftd judges it (the new-pod hold): synced
 * sooner than a watch event, with just enough delay to take the record's write and link as one.
 */
export const RECORD_SYNC_MS = 2;
/** Not a valid Node name, so no pod is bound to it: a table for it judges no local pod. */
const UNKNOWN_NODE = "(unknown)";
const MAX_BACKOFF_MS = 10_000;

export interface PolicyEnforcerDeps {
  kube: KubeWatches;
  table: PolicyTable;
  /** The plugin's records on this node (throws when they cannot be read). */
  records: () => RecordedPod[];
  /** The record stores' directories, watched for new records. */
  recordDirs: () => string[];
  /** --node-name, when given. */
  nodeNameFlag: string | undefined;
  /** This node's underlay addresses (to find its Node when no name is given). */
  underlay: () => string[];
  metrics: PolicyMetrics;
  log: () => Logger;
  /** After each successful apply, with the cluster it enforces (--policy-strict cuts flows now denied). */
  afterApply?: (cluster: Cluster, node: string) => Promise<unknown>;
  /** Transforms the compiled table for this node before it is applied (named counters, drop logging). */
  decorate?: (compiled: CompiledRuleset, cluster: Cluster, node: string) => CompiledRuleset;
  /** Runs when the enforcer stops (drop logging closes its socket). */
  onStop?: () => void;
  /** After a change applied as set elements (decorate did not run): the cluster now enforced (drop logging names pods from it). */
  afterElements?: (cluster: Cluster, node: string) => void;
}

export class PolicyEnforcer {
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private running = false;
  private again = false;
  private forceFull = true;
  private failure: { since: number; message: string; attempts: number } | undefined;
  private lastApplied: { at: number; cluster: Cluster; node: string; compiled: CompiledRuleset } | undefined;
  private readonly watchers = new Map<string, FSWatcher>();
  /** Local records first seen without their pod in the API's view: said once each. */
  private readonly unknownSaid = new Set<string>();
  /** Pods not yet in the table, by address, with when the plugin allocated it: the new-pod window. */
  private readonly pending = new Map<string, number>();
  /** The first table after a start holds every pod: their windows are not new pods', so not measured. */
  private seeded = false;
  private stopped = false;
  private nameUnknownSaid = false;

  constructor(private readonly d: PolicyEnforcerDeps) {}

  start(): void {
    this.d.kube.onChange(() => this.schedule());
    this.watchRecords();
    this.schedule();
  }

  /** One sync COALESCE_MS from the first of a burst of changes (sooner when a change asks for sooner). */
  schedule(delay = COALESCE_MS): void {
    if (this.stopped) return;
    const due = Date.now() + delay;
    if (this.timer) {
      if (due >= this.timerDue) return;
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sync();
    }, delay);
  }

  /** The periodic check: the kernel's table as applied (else rewritten whole), new record stores watched. */
  async resync(): Promise<void> {
    this.watchRecords();
    if (this.failure || !this.lastApplied) return this.schedule();
    // Not while a sync writes: the kernel's table would be read between two states, and look drifted.
    if (this.running || this.timer) return;
    const drifted = await this.d.table.drifted().catch(() => true);
    // A sync that began while the table was read may have written it meanwhile: judged at the next resync.
    if (drifted && !this.running) {
      this.d.log().warn("the kernel's policy table differs from what weftd applied (changed by hand, or deleted); writing it whole again");
      this.d.metrics.drifts.inc();
      this.forceFull = true;
      this.schedule(0);
    }
  }

  problems(): string[] {
    const p: string[] = [];
    if (this.failure) p.push(`network policy: applying table inet weft-policy has failed ${this.failure.attempts} time(s) since ${new Date(this.failure.since).toISOString()} (${this.failure.message}); retrying with backoff, the kernel keeps the last table applied`);
    if (this.lastApplied && !this.d.kube.live()) p.push(`network policy: the Kubernetes API is unreachable; enforcing the state last seen (table applied at ${new Date(this.lastApplied.at).toISOString()})`);
    return p;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.d.table.close();
    for (const w of this.watchers.values()) w.close();
    this.d.onStop?.();
  }

  /** What the enforcer would build now: for explain and tests. */
  build(): BuiltCluster & { node: string } {
    const k = this.d.kube;
    const records = this.d.records();
    const pods = k.pods.list();
    const node = this.nodeName(pods, records);
    return { ...buildCluster({ pods, namespaces: k.namespaces.list(), nodes: k.nodes.list(), networkPolicies: k.networkPolicies.list(), clusterNetworkPolicies: k.clusterNetworkPolicies.list(), records, nodeName: node }), node };
  }

  /** Unknown only while no Node has this node's address and no pod of its records is known: then it has no pods to judge. */
  private nodeName(pods: Pod[], records: RecordedPod[]): string {
    const name = ownNodeName(this.d.nodeNameFlag, this.d.kube.nodes.list(), this.d.underlay(), pods, records);
    if (!name && !this.nameUnknownSaid) this.d.log().warn("this node's Kubernetes name is not known yet (no --node-name, no Node with this node's address, no known pod in its records): no local pod is judged until it is");
    this.nameUnknownSaid ||= !name;
    return name ?? UNKNOWN_NODE;
  }

  private async sync(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    if (!this.d.kube.synced()) return; // every watch's first list schedules again when it lands
    this.running = true;
    const started = performance.now();
    let kind: string = "none";
    try {
      const built = this.build();
      this.noteUnknown(built.unknownRecords);
      const node = built.node;
      const byElements = await this.applyElements(built.cluster, node);
      let compiled: CompiledRuleset;
      if (byElements.applied) {
        ({ kind, compiled } = byElements.applied);
        if (kind !== "none") this.d.afterElements?.(built.cluster, node);
      } else {
        const compiled0 = compile(built.cluster, node);
        compiled = this.d.decorate ? this.d.decorate(compiled0, built.cluster, node) : compiled0;
        kind = await this.d.table.apply(compiled, this.forceFull);
      }
      this.forceFull = false;
      const ms = performance.now() - started;
      if (kind !== "none") {
        this.d.metrics.applies.inc({ kind, result: "ok" });
        this.d.metrics.syncSeconds.observe(ms / 1000);
        const why = byElements.recompiled ? { recompiled: byElements.recompiled } : {};
        this.d.log().info({ kind, ms: Math.round(ms * 10) / 10, node, pods: built.cluster.pods.length, policies: built.cluster.networkPolicies.length, clusterPolicies: built.cluster.clusterNetworkPolicies.length, ...why }, "policy table applied");
      }
      if (this.failure) this.d.log().info({ attempts: this.failure.attempts }, "policy table applied again after failures");
      this.failure = undefined;
      this.lastApplied = { at: Date.now(), cluster: built.cluster, node, compiled };
      this.noteProgrammed(built, node);
      if (kind !== "none") await this.d.afterApply?.(built.cluster, node);
    } catch (err) {
      this.failed(err as Error, kind);
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    }
  }

  /**
   * A change of pods or namespace labels only, written as set elements without a compile; otherwise
   * why a compile is needed. A failed write is said and left to the compile (today's path: the diff
   * with nft, and the whole table if that fails too).
   */
  private async applyElements(cluster: Cluster, node: string): Promise<{ applied?: { kind: ApplyKind; compiled: CompiledRuleset }; recompiled?: string }> {
    const last = this.lastApplied;
    if (this.forceFull || !last) return {};
    if (last.node !== node) return { recompiled: "this node's name changed" };
    const delta = podDelta(last.cluster, cluster, last.compiled);
    if (delta.kind === "recompile") return { recompiled: delta.reason };
    try {
      return { applied: { kind: await this.d.table.applyElements(last.compiled, delta.next, delta.changes), compiled: delta.next } };
    } catch (err) {
      this.d.metrics.applies.inc({ kind: "elements", result: "error" });
      this.d.log().warn({ err: (err as Error).message, sets: delta.changes.length }, "policy set elements not written; compiling the table and applying it with nft instead");
      return { recompiled: "the element write failed" };
    }
  }

  private failed(err: Error, kind: string): void {
    const attempts = (this.failure?.attempts ?? 0) + 1;
    this.failure = { since: this.failure?.since ?? Date.now(), message: err.message.slice(0, 300), attempts };
    this.forceFull = true;
    if (err instanceof PolicyApplyError) this.d.metrics.applies.inc({ kind: err.kind, result: "error" });
    else this.d.metrics.applies.inc({ kind: kind === "none" ? "full" : kind, result: "error" });
    const retryInMs = Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(attempts, 10));
    this.d.log().error({ err: err.message, attempts, retryInMs }, "policy table not applied; the kernel keeps the last table applied, retrying");
    this.schedule(retryInMs);
  }

  /** Records whose pod the API's view lacks: unjudged (open) until it is known, and said loudly once. */
  private noteUnknown(unknown: RecordedPod[]): void {
    for (const r of unknown) {
      const id = `${r.containerId}:${r.ifname}`;
      if (this.unknownSaid.has(id)) continue;
      this.unknownSaid.add(id);
      this.d.metrics.unknownPods.inc();
      this.d.log().warn({ containerId: r.containerId.slice(0, 12), pod: r.podNamespace && r.podName ? `${r.podNamespace}/${r.podName}` : undefined, ip: r.ipv4 ?? r.ipv6 }, "a pod on this node is not in the Kubernetes API's view yet: no policy judges its traffic until it is");
    }
  }

  /** The new-pod window: from the plugin's allocation to the first table holding the pod's address. */
  private noteProgrammed(built: BuiltCluster, node: string): void {
    const local = new Set(built.cluster.pods.filter((p) => p.node === node && !p.hostNetwork).flatMap((p) => p.ips));
    const recent = Date.now() - 60_000;
    for (const r of this.d.records()) {
      const ip = r.ipv4 ?? r.ipv6;
      if (!ip || this.pending.has(ip) || !local.has(ip)) continue;
      const at = Date.parse(r.allocatedAt);
      if (!(at > recent)) continue;
      this.pending.set(ip, at);
      if (!this.seeded) continue;
      const ms = Date.now() - at;
      this.d.metrics.newPodSeconds.observe(ms / 1000);
      this.d.log().info({ pod: `${r.podNamespace}/${r.podName}`, ip, msSinceAllocation: ms }, "new pod's address in the policy table");
    }
    for (const ip of this.pending.keys()) if (!local.has(ip)) this.pending.delete(ip);
    this.seeded = true;
  }

  /** fs.watch on each record store: a record the plugin writes is a sync ~20 ms later, before its kubelet writes status. */
  private watchRecords(): void {
    for (const dir of this.d.recordDirs()) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, () => this.schedule(RECORD_SYNC_MS));
        w.on("error", () => {
          w.close();
          this.watchers.delete(dir);
        });
        this.watchers.set(dir, w);
      } catch {
        // not there yet: the first pod's ADD makes it; the next resync watches it
      }
    }
  }
}
