// An informer, as client-go's Reflector and informer do it: list (in pages), then watch from the
// list's resourceVersion with bookmarks, watch again from the last resourceVersion seen when a watch
// ends, and list again when the server no longer has that resourceVersion (410), handing the
// handlers the difference against its store — so a handler hears of each change once, none missed.
import { Backoff, type BackoffOptions } from "./backoff.js";
import type { KubeClient } from "./client.js";
import { isExpired, isNotFound, KubeApiError, type KubeStatus } from "./errors.js";
import { resourceName, resourcePath, type KubeObject, type ResourceType } from "./resources.js";
import { ObjectStore, type ObjectStoreView } from "./store.js";
import type { WatchEvent, WatchEventType } from "./watch-stream.js";

export interface InformerHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(old: T, obj: T): void;
  onDelete?(obj: T): void;
}

/** The subset of a structured logger (pino's) the informer uses. */
export interface InformerLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  debug(fields: object, msg: string): void;
}

export interface InformerOptions<T> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Objects per list page (limit/continue). */
  pageSize?: number;
  /** Each watch asks the server to end it after between this and twice this (client-go: 5 to 10 min). */
  minWatchTimeoutSeconds?: number;
  backoff?: BackoffOptions;
  /** A resource the server does not serve (404: its group or CRD is not installed) is tried again this rarely. */
  notServedRetryMs?: number;
  handlers?: InformerHandlers<T>;
  /** Applied to every object before it is stored (client-go's SetTransform): drop what no reader needs, to save memory. */
  transform?: (obj: T) => T;
  log?: InformerLog;
  random?: () => number;
}

export type RelistReason = "expired" | "expired-while-paging";

export interface InformerFailure {
  message: string;
  /** When the current run of failures began (ms since the epoch). */
  since: number;
  at: number;
}

export interface InformerCounters {
  events: Record<WatchEventType, number>;
  relists: Partial<Record<RelistReason, number>>;
  /** Watches started again after one ended or failed. */
  watchRestarts: number;
}

export class Informer<T extends KubeObject> {
  private readonly objects = new ObjectStore<T>();
  readonly store: ObjectStoreView<T> = this.objects;
  readonly name: string;
  readonly counters: InformerCounters = { events: { ADDED: 0, MODIFIED: 0, DELETED: 0, BOOKMARK: 0, ERROR: 0 }, relists: {}, watchRestarts: 0 };
  hasSynced = false;
  /** The server answered 404 for the collection: not an error to report, just nothing to watch. */
  notServed = false;
  lastError: InformerFailure | undefined;
  /** The last resourceVersion seen (list, event or bookmark): where the next watch starts. */
  resourceVersion = "";
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private stopped = false;
  private running?: Promise<void>;
  private watchAbort?: AbortController;
  private wake?: () => void;
  private sleepTimer?: NodeJS.Timeout;
  private lastListAt = 0;
  private resolveSynced!: (ok: boolean) => void;
  private readonly syncedPromise = new Promise<boolean>((r) => (this.resolveSynced = r));

  constructor(
    private readonly client: KubeClient,
    readonly type: ResourceType,
    private readonly opts: InformerOptions<T> = {},
  ) {
    this.name = resourceName(type);
    this.backoff = new Backoff(opts.backoff);
    this.random = opts.random ?? Math.random;
  }

  start(): this {
    this.running ??= this.run();
    return this;
  }

  /** True once the first list is in the store and its adds handed out; false if stopped before. */
  synced(): Promise<boolean> {
    return this.syncedPromise;
  }

  /** Ends the watch, the pending list and any wait; resolves when nothing of it is left running. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watchAbort?.abort();
    clearTimeout(this.sleepTimer);
    this.wake?.();
    this.resolveSynced(false);
    await this.running;
  }

  private async run(): Promise<void> {
    let mustList = true;
    let reason: RelistReason | undefined;
    let watched = false;
    while (!this.stopped) {
      this.watchAbort = new AbortController();
      try {
        if (mustList) {
          await this.listAll(reason);
          mustList = false;
          reason = undefined;
        }
        if (watched) this.counters.watchRestarts++;
        watched = true;
        await this.watchOnce(this.watchAbort.signal);
      } catch (err) {
        if (this.stopped) break;
        if (isExpired(err)) {
          this.log("info", { resourceVersion: this.resourceVersion, err: (err as Error).message }, "resourceVersion expired; listing again");
          mustList = true;
          reason = "expired";
          // A server that expires every fresh watch at once must not be listed in a tight loop.
          if (Date.now() - this.lastListAt < 1_000) await this.sleep(this.backoff.next());
          continue;
        }
        if (isNotFound(err) && mustList) {
          await this.waitWhileNotServed(err as Error);
          continue;
        }
        this.failed(err as Error);
        const retryInMs = this.backoff.next();
        this.log("warn", { err: (err as Error).message, retryInMs, failingSince: new Date(this.lastError!.since).toISOString() }, mustList ? "list failed; retrying" : "watch failed; retrying");
        await this.sleep(retryInMs);
      }
    }
  }

  /** Every page of the collection, then the store replaced by it and the difference handed out. */
  private async listAll(reason: RelistReason | undefined): Promise<void> {
    const started = Date.now();
    let items: T[] = [];
    let resourceVersion = "";
    let cont: string | undefined;
    let pagingExpired = false;
    do {
      try {
        const page = await this.client.list<T>(this.type, { ...this.selectors(), limit: this.opts.pageSize ?? 500, ...(cont ? { continue: cont } : {}), signal: this.watchAbort!.signal });
        const t = this.opts.transform;
        items = items.concat(t ? (page.items ?? []).map(t) : (page.items ?? []));
        resourceVersion = page.metadata?.resourceVersion ?? "";
        cont = page.metadata?.continue || undefined;
      } catch (err) {
        // The continue token's snapshot was compacted: the pages so far are of a lost version; start over, whole.
        if (!cont || !isExpired(err) || pagingExpired) throw err;
        pagingExpired = true;
        reason = "expired-while-paging";
        items = [];
        cont = undefined;
      }
    } while (cont && !this.stopped);
    if (this.stopped) return;
    this.lastListAt = Date.now();
    this.resourceVersion = resourceVersion;
    this.succeeded();
    this.backoff.reset();
    if (this.notServed) this.log("info", {}, "the API server serves this resource now");
    this.notServed = false;
    const changes = this.objects.replace(items);
    if (reason) this.counters.relists[reason] = (this.counters.relists[reason] ?? 0) + 1;
    for (const o of changes.deleted) this.handle("onDelete", o);
    for (const o of changes.added) this.handle("onAdd", o);
    for (const u of changes.updated) this.handle("onUpdate", u.old, u.obj);
    const fields = { objects: items.length, resourceVersion, ms: Date.now() - started };
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.log("info", fields, "synced");
      this.resolveSynced(true);
    } else {
      this.log("info", { ...fields, reason, added: changes.added.length, updated: changes.updated.length, deleted: changes.deleted.length }, "listed again");
    }
  }

  private async watchOnce(signal: AbortSignal): Promise<void> {
    const min = this.opts.minWatchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.floor(min * (1 + this.random()));
    const started = Date.now();
    const stream = await this.client.watch<T>(this.type, { ...this.selectors(), resourceVersion: this.resourceVersion, timeoutSeconds, allowWatchBookmarks: true, signal });
    // The server took the watch: whatever failed before is over.
    this.succeeded();
    let events = 0;
    for await (const e of stream) {
      events++;
      this.apply(e);
    }
    // client-go's guard: a watch that ends at once with nothing in it is a server in trouble, not a timeout.
    if (!this.stopped && events === 0 && Date.now() - started < 1_000) throw new Error(`watch of ${this.name} ended within a second with no event`);
  }

  private apply(raw: WatchEvent<T>): void {
    this.counters.events[raw.type]++;
    const e = this.opts.transform && raw.type !== "ERROR" && raw.type !== "BOOKMARK" ? { type: raw.type, object: this.opts.transform(raw.object) } : raw;
    if (e.type === "ERROR") {
      const status = e.object as KubeStatus;
      throw new KubeApiError(`watch ${resourcePath(this.type, this.opts.namespace)}`, status.code ?? 500, status);
    }
    const rv = e.object.metadata?.resourceVersion;
    if (e.type === "DELETED") {
      const old = this.objects.remove(e.object);
      if (old) this.handle("onDelete", e.object);
    } else if (e.type === "ADDED" || e.type === "MODIFIED") {
      const old = this.objects.upsert(e.object);
      if (old) this.handle("onUpdate", old, e.object);
      else this.handle("onAdd", e.object);
    }
    if (rv) this.resourceVersion = rv;
    this.backoff.reset();
  }

  private handle(which: "onAdd" | "onDelete", obj: T): void;
  private handle(which: "onUpdate", old: T, obj: T): void;
  private handle(which: keyof InformerHandlers<T>, a: T, b?: T): void {
    const h = this.opts.handlers?.[which] as ((x: T, y?: T) => void) | undefined;
    try {
      h?.(a, b);
    } catch (err) {
      // A handler's bug must not stop the informer, nor hide the next events from the other handlers.
      this.log("warn", { handler: which, err: (err as Error).message }, "an event handler failed");
    }
  }

  private async waitWhileNotServed(err: Error): Promise<void> {
    const retryMs = this.opts.notServedRetryMs ?? 300_000;
    if (!this.notServed) this.log("info", { err: err.message, retryInMs: retryMs }, "the API server does not serve this resource (not installed?); asking again now and then");
    this.notServed = true;
    await this.sleep(retryMs);
  }

  private selectors(): { namespace?: string; labelSelector?: string; fieldSelector?: string } {
    const { namespace, labelSelector, fieldSelector } = this.opts;
    return { ...(namespace ? { namespace } : {}), ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) };
  }

  private succeeded(): void {
    this.lastError = undefined;
  }

  private failed(err: Error): void {
    const now = Date.now();
    this.lastError = { message: err.message.split("\n")[0] ?? "", since: this.lastError?.since ?? now, at: now };
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    });
  }

  private log(level: "info" | "warn" | "debug", fields: object, msg: string): void {
    this.opts.log?.[level]({ resource: this.name, ...fields }, msg);
  }
}
