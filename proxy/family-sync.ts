// One family's sync loop. A dual-stack weft-proxy runs a proxier per family, each with its own loop:
// its own queue, retry and backoff, so one family's failing rules neither delay nor hide the other's.
import type { IpFamily } from "./model.js";
import { ProxyConfigError, ProxyModeUnavailableError, type Proxier } from "./proxier.js";
import type { ServicePortEntry } from "./service-ports.js";

export type Log = (level: "info" | "warn" | "error", msg: string, fields: Record<string, unknown>) => void;

const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;

export class FamilySyncLoop {
  readonly family: IpFamily;
  private latest: ServicePortEntry[] = [];
  private lastKey: string | undefined;
  private queue = Promise.resolve();
  private retry: NodeJS.Timeout | undefined;
  private backoffMs = FIRST_BACKOFF_MS;
  /** init() failed (or was never run): the next sync runs it first. */
  private needsInit = true;

  /** `fields` go on every log line (the node); the mode and the family are added. */
  constructor(
    private readonly proxier: Proxier,
    private readonly log: Log,
    private readonly fields: Record<string, unknown>,
  ) {
    this.family = proxier.family;
  }

  private logFields(): Record<string, unknown> {
    return { ...this.fields, mode: this.proxier.mode, family: this.family };
  }

  /** Prepares the node; a mode or flags this node cannot run throw, any other failure is retried by the syncs. */
  start(): void {
    try {
      this.proxier.init();
      this.needsInit = false;
    } catch (err) {
      if (err instanceof ProxyModeUnavailableError || err instanceof ProxyConfigError) throw err;
      this.log("error", "proxy init failed; the next sync tries again", { ...this.logFields(), error: (err as Error).message });
    }
  }

  /** This family's wanted service ports; synced when they differ from the last ones. */
  update(ports: ServicePortEntry[]): Promise<void> {
    this.latest = ports;
    const key = JSON.stringify(ports);
    if (key === this.lastKey) return this.queue;
    this.lastKey = key;
    return this.sync("change");
  }

  /** Periodic repair: forget what was applied and write everything again. */
  repair(): Promise<void> {
    this.proxier.invalidate();
    return this.sync("periodic");
  }

  /** Syncs run one at a time, in order; a change during a sync is applied right after it. */
  sync(reason: string): Promise<void> {
    return (this.queue = this.queue.then(() => this.syncNow(reason)));
  }

  stop(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
    this.proxier.stop?.();
  }

  private async syncNow(reason: string): Promise<void> {
    const ports = this.latest;
    try {
      if (this.needsInit) {
        this.proxier.init();
        this.needsInit = false;
      }
      const stats = await this.proxier.sync(ports);
      this.backoffMs = FIRST_BACKOFF_MS;
      clearTimeout(this.retry);
      this.retry = undefined;
      const endpoints = ports.reduce((n, p) => n + p.endpoints.length, 0);
      this.log("info", "rules synced", { ...this.logFields(), reason, servicePorts: ports.length, endpoints, written: stats.written, bytes: stats.bytes, ms: Math.round(stats.ms * 10) / 10 });
    } catch (err) {
      this.log("error", "rule sync failed; will retry", { ...this.logFields(), reason, error: (err as Error).message, retryInMs: this.backoffMs });
      this.proxier.invalidate();
      // One retry pending at most, backing off from 1 s to 30 s, so a rule the kernel refuses does not
      // turn into a busy loop (each change or periodic sync would otherwise start another retry chain).
      if (this.retry) return;
      this.retry = setTimeout(() => {
        this.retry = undefined;
        void this.sync("retry");
      }, this.backoffMs);
      this.retry.unref();
      this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    }
  }
}
