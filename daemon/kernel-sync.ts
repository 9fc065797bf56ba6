// Keeps the backend's kernel state equal to the leases: one piece of work at a time, in order — a full
// reconcile (calls while one is queued share it), one lease's change (O(1) in the cluster size), or
// drift the kernel reported in its change notifications (repaired where it happened). A full pass that
// re-reads every entry runs only rarely, or when the kernel's word cannot be trusted (lost
// notifications, a changed device), or always where the notifications cannot be read.
import { leaseName, type Lease } from "../ipam/subnet-manager.js";
import { NetlinkMonitor, type KernelChange } from "../netlink/index.js";
import type { Backend } from "./backend/backend.js";
import type { Logger } from "./log.js";
import type { DaemonMetrics } from "./metrics.js";
import type { RemoteLeases } from "./remote-leases.js";

/** How often the kernel's queued notifications are read: drift is repaired within this. */
const DRIFT_DRAIN_MS = 200;

export interface KernelSyncDeps {
  backend: Backend;
  /** This node's lease (renewals replace it). */
  own: () => Lease;
  leases: RemoteLeases;
  /** While etcd's view is not trusted for removals (it lost its data), nothing is removed. */
  removalsHeld: () => boolean;
  metrics: DaemonMetrics;
  log: () => Logger;
  fullResyncMs: number;
}

export class KernelSync {
  private work: Promise<void> = Promise.resolve();
  private reconcileQueued = false;
  private firstDone = false;
  private lastFull = 0;
  private pendingSince: number | undefined;
  private monitor?: NetlinkMonitor;
  private drainTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly d: KernelSyncDeps) {}

  /** Follows the kernel's change notifications from now on; false (logged) where they cannot be read. */
  followKernel(): boolean {
    try {
      this.monitor = NetlinkMonitor.open(["link", "neigh", "ipv4Route", "ipv6Route"]);
    } catch (err) {
      this.d.log().warn({ err: (err as Error).message }, "cannot follow the kernel's change notifications; every resync re-reads every entry instead");
      return false;
    }
    this.drainTimer = setInterval(() => this.repairDrift(), DRIFT_DRAIN_MS);
    return true;
  }

  firstReconcileDone(): boolean {
    return this.firstDone;
  }

  /** A lease event arrived: its latency runs until its entries are programmed. */
  noteEvent(): void {
    this.pendingSince ??= performance.now();
  }

  /** One piece of kernel work after the others: a failure is the piece's own, never the queue's. */
  private serially(work: () => Promise<void>): Promise<void> {
    const run = this.work.then(() => (this.stopped ? undefined : work()));
    this.work = run.catch(() => undefined);
    return run;
  }

  /** Brings the kernel to the desired state; calls while one is queued and not yet started share it. */
  reconcile(): Promise<void> {
    if (this.reconcileQueued) return this.work;
    this.reconcileQueued = true;
    return this.serially(async () => {
      this.reconcileQueued = false;
      const end = this.d.metrics.reconcileDuration.startTimer();
      try {
        const { backend } = this.d;
        const own = this.d.own();
        if (await backend.ensure(own)) this.d.log().warn("a device of the backend was missing or wrong and has been recreated; reprogramming every node");
        await backend.reconcile(this.d.leases.valid(), own, this.d.removalsHeld());
        this.lastFull = Date.now();
        this.firstDone = true;
        this.programmed();
      } catch (err) {
        this.d.metrics.reconcileErrors.inc();
        this.d.log().error({ err: (err as Error).message }, "reconcile failed; retrying at the next event or resync");
      } finally {
        end();
      }
    });
  }

  /** The periodic resync: a full pass when one is due, or always without the kernel's notifications. */
  resync(): void {
    if (!this.monitor || Date.now() - this.lastFull >= this.d.fullResyncMs) void this.reconcile();
  }

  /** One node's lease changed: that node alone; before the first full reconcile, or on failure, everything. */
  applyLeaseChange(prev: Lease | undefined, next: Lease | undefined): void {
    const valid = (l: Lease | undefined): Lease | undefined => (l && this.d.leases.isValid(l) ? l : undefined);
    const [before, after] = [valid(prev), valid(next)];
    void this.serially(async () => {
      // A reconcile is queued behind this piece, never awaited in it: awaiting it here would wait on itself.
      if (!this.firstDone) return void this.reconcile();
      const own = this.d.own();
      try {
        await this.d.backend.applyChange(before, after, own);
      } catch (err) {
        const changed = next ?? prev;
        this.d.log().warn({ err: (err as Error).message, lease: changed && leaseName(changed) }, "incremental update failed; reconciling everything");
        return void this.reconcile();
      }
      // The node counts move by this lease alone: counting them all again made each event O(nodes).
      const remote = (l: Lease | undefined): Lease | undefined => (l && leaseName(l) !== leaseName(own) ? l : undefined);
      const [was, is] = [remote(before), remote(after)];
      this.d.metrics.remoteNodes.inc((is ? 1 : 0) - (was ? 1 : 0));
      if (own.ipv6) this.d.metrics.remoteNodesIpv6.inc((is?.ipv6 ? 1 : 0) - (was?.ipv6 ? 1 : 0));
      this.observeLatency();
    });
  }

  /** What the kernel said changed since the last look: our own changes cost a lookup each; drift is put back. */
  private repairDrift(): void {
    let changes: KernelChange[];
    try {
      changes = this.monitor?.drain() ?? [];
    } catch (err) {
      this.d.log().warn({ err: (err as Error).message }, "reading the kernel's notifications failed; reconciling everything");
      void this.reconcile();
      return;
    }
    if (!changes.length) return;
    void this.serially(async () => {
      if (!this.firstDone) return;
      if ((await this.d.backend.repair(changes, this.d.own())) === "full") {
        this.d.log().warn({ changes: changes.length }, "the kernel reports a changed device or lost notifications; reconciling everything");
        void this.reconcile();
      }
    });
  }

  /** A pending lease event is now in the kernel: its latency. */
  private observeLatency(): void {
    if (this.pendingSince !== undefined) {
      this.d.metrics.leaseToProgrammed.observe((performance.now() - this.pendingSince) / 1000);
      this.pendingSince = undefined;
    }
  }

  /** Everything is in the kernel: the latency of what was pending, and the nodes counted afresh. */
  private programmed(): void {
    const { metrics } = this.d;
    this.observeLatency();
    const own = this.d.own();
    const remotes = this.d.leases.remotesOf(own);
    metrics.remoteNodes.set(remotes.length);
    if (own.ipv6) metrics.remoteNodesIpv6.set(remotes.filter((l) => l.ipv6).length);
  }

  problems(): string[] {
    return this.d.backend.problems();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.drainTimer);
    this.monitor?.close();
    this.d.backend.close();
  }
}
