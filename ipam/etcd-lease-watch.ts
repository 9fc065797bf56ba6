// The watch of every node's lease: a snapshot, then etcd's events from the revision after it; any error
// or disconnection starts over with a fresh snapshot.
import type { Etcd3, Watcher } from "etcd3";
import { decodeLease } from "./lease-value.js";
import { LeaseError, type Lease, type LeaseEvent, type LeaseWatch } from "./subnet-manager.js";

/** Where the watch reads its snapshots from: every key under the subnets prefix, decoded where possible. */
export interface LeaseListing {
  readonly subnetsPrefix: string;
  listRaw(): Promise<{ revision: string; leases: { key: string; lease?: Lease; error?: Error }[] }>;
}

/**
 * Snapshot then events; any error or disconnection starts over with a fresh snapshot (the etcd
 * client would resume the stream by itself, but at the revision it last saw: an etcd that came back
 * without its data, at a lower revision, would send nothing until it got that far).
 */
export class SubnetWatch implements LeaseWatch {
  private closed = false;
  private watcher: Watcher | undefined;
  private readonly cache = new Map<string, Lease>();
  private backoffMs = 250;
  private isLive = false;
  /** The highest revision this watch has seen: etcd's revisions never go back unless it lost its data. */
  private revision = 0n;

  constructor(
    private readonly mgr: LeaseListing,
    private readonly client: Etcd3,
    private readonly onEvent: (e: LeaseEvent) => void,
    private readonly onError: (err: Error) => void,
  ) {
    void this.start();
  }

  private decode(key: string, value: string): Lease | undefined {
    try {
      return decodeLease(key, value, new Date(0));
    } catch (err) {
      this.onError(err as Error);
      return undefined;
    }
  }

  private async start(): Promise<void> {
    if (this.closed) return;
    try {
      const { revision, leases } = await this.mgr.listRaw();
      this.cache.clear();
      for (const l of leases) {
        if (l.error) this.onError(l.error);
        if (l.lease) this.cache.set(l.key, l.lease);
      }
      if (this.closed) return;
      this.revision = BigInt(revision);
      this.onEvent({ type: "snapshot", leases: [...this.cache.values()] });
      this.follow();
    } catch (err) {
      this.restart(err as Error);
    }
  }

  /** Events after the snapshot. Handlers go on before the stream exists: a cut during its creation counts too. */
  private follow(): void {
    const prefixLen = this.mgr.subnetsPrefix.length;
    const watcher = this.client.watch().prefix(this.mgr.subnetsPrefix).startRevision(String(this.revision + 1n)).watcher();
    this.watcher = watcher;
    const current = (): boolean => !this.closed && this.watcher === watcher;
    watcher.on("connected", (res) => {
      if (!current()) return;
      // Created on an etcd that is behind the snapshot: it lost its data between the two.
      if (this.wentBack(res.header.revision)) return;
      this.isLive = true;
      this.backoffMs = 250;
    });
    watcher.on("data", (res) => {
      if (current() && BigInt(res.header.revision) > this.revision) this.revision = BigInt(res.header.revision);
    });
    watcher.on("put", (kv) => {
      if (!current()) return;
      const key = kv.key.toString().slice(prefixLen);
      const lease = this.decode(key, kv.value.toString());
      if (!lease) return;
      this.cache.set(key, lease);
      this.onEvent({ type: "added", lease });
    });
    watcher.on("delete", (kv) => {
      if (!current()) return;
      const key = kv.key.toString().slice(prefixLen);
      const lease = this.cache.get(key);
      this.cache.delete(key);
      if (lease) this.onEvent({ type: "removed", lease });
    });
    // Events may be missed while cut off: start over from a fresh snapshot once etcd answers.
    watcher.on("disconnected", () => current() && this.restart(new LeaseError("lease watch cut off from etcd; resynchronising when it answers")));
    watcher.on("error", (err) => current() && this.restart(err));
  }

  /** Restarts the watch when etcd answers at a revision below one it has already shown (restored, or rebuilt empty). */
  noticeRevision(revision: string): void {
    if (this.isLive) this.wentBack(revision);
  }

  private wentBack(revision: string): boolean {
    if (BigInt(revision) >= this.revision) return false;
    this.restart(new LeaseError(`etcd's revision went back from ${this.revision} to ${revision}: it lost its data or was restored from a backup; resynchronising`));
    return true;
  }

  private restart(err: Error): void {
    if (this.closed) return;
    this.isLive = false;
    this.onError(err);
    const w = this.watcher;
    this.watcher = undefined;
    if (w) void w.cancel().catch(() => undefined);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 5_000);
    setTimeout(() => void this.start(), delay);
  }

  live(): boolean {
    return this.isLive;
  }

  close(): void {
    this.closed = true;
    this.isLive = false;
    if (this.watcher) void this.watcher.cancel().catch(() => undefined);
  }
}
