// Watches as kube's etcd3 watcher serves them: an etcd watch from the client's revision + 1 with the
// previous values, so that an object that starts or stops matching the selectors is ADDED or DELETED;
// without a revision (or "0") every current object is ADDED first. Newline-delimited JSON events,
// BOOKMARKs when asked, the stream ends at timeoutSeconds, and a compacted revision is one ERROR event
// carrying a 410 Expired Status, after which clients relist.
import type { ServerResponse } from "node:http";
import type { IKeyValue, Watcher } from "etcd3";
import { ApiError } from "./errors.js";
import type { KubeObject } from "./objects.js";
import { apiVersionOf, etcdPrefix, type ResourceInfo } from "./resources.js";
import type { Selector } from "./selectors.js";
import { decode, type ObjectStore } from "./store.js";
import { toTable } from "./tables.js";

export interface WatchRequest {
  resource: ResourceInfo;
  namespace: string | undefined;
  resourceVersion: string | undefined;
  matches: Selector;
  bookmarks: boolean;
  timeoutSeconds: number;
  table: boolean;
  bookmarkIntervalMs: number;
}

type EventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export async function serveWatch(store: ObjectStore, w: WatchRequest, res: ServerResponse, onClose: (cb: () => void) => void): Promise<void> {
  res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private" });
  res.flushHeaders();
  let firstTable = true;
  const send = (type: EventType, object: object): void => {
    let out = object;
    if (w.table && (type === "ADDED" || type === "MODIFIED" || type === "DELETED")) {
      out = toTable(w.resource, [object as KubeObject], (object as KubeObject).metadata.resourceVersion, firstTable);
      firstTable = false;
    }
    res.write(`${JSON.stringify({ type, object: out })}\n`);
  };
  const fail = (err: unknown): void => {
    const status = err instanceof ApiError ? err.toStatus() : new ApiError(500, "InternalError", String((err as Error)?.message ?? err)).toStatus();
    send("ERROR", status);
    res.end();
  };

  let from: string;
  try {
    if (w.resourceVersion && w.resourceVersion !== "0") {
      await store.assertRevisionAvailable(w.resourceVersion);
      from = w.resourceVersion;
    } else {
      const listed = await store.list(w.resource, w.namespace);
      for (const o of listed.items) if (w.matches(o)) send("ADDED", o);
      from = listed.resourceVersion;
    }
  } catch (err) {
    fail(err);
    return;
  }

  let lastRevision = from;
  let watcher: Watcher | undefined;
  let ended = false;
  const timers: NodeJS.Timeout[] = [];
  const finish = (): void => {
    if (ended) return;
    ended = true;
    for (const t of timers) clearTimeout(t);
    void watcher?.cancel().catch(() => undefined);
    res.end();
  };
  onClose(finish);
  timers.push(setTimeout(finish, w.timeoutSeconds * 1000));
  if (w.bookmarks) {
    const bookmark = setInterval(() => send("BOOKMARK", { kind: w.resource.kind, apiVersion: apiVersionOf(w.resource), metadata: { resourceVersion: lastRevision } }), w.bookmarkIntervalMs);
    timers.push(bookmark);
  }

  const onChange = (kv: IKeyValue, prev: IKeyValue | undefined, deleted: boolean): void => {
    if (ended) return;
    lastRevision = String(kv.mod_revision);
    const cur = deleted ? undefined : decode(kv);
    const old = prev ? decode(prev) : undefined;
    const curMatch = cur !== undefined && w.matches(cur);
    const oldMatch = old !== undefined && w.matches(old);
    // The object as it was, at the revision of its deletion, as kube sends it.
    if (cur && curMatch) send(oldMatch ? "MODIFIED" : "ADDED", cur);
    else if (oldMatch && old) send("DELETED", { ...(cur ?? old), metadata: { ...(cur ?? old).metadata, resourceVersion: String(kv.mod_revision) } });
  };
  try {
    watcher = await store.etcd.watch().prefix(etcdPrefix(w.resource, w.namespace)).startRevision(String(Number(from) + 1)).withPreviousKV().create();
  } catch (err) {
    fail(err);
    return;
  }
  if (ended) {
    void watcher.cancel();
    return;
  }
  watcher.on("put", (kv, prev) => onChange(kv, prev, false));
  watcher.on("delete", (kv, prev) => onChange(kv, prev, true));
  watcher.on("error", (err: Error) => {
    if (ended) return;
    ended = true;
    for (const t of timers) clearTimeout(t);
    // etcd cancels a watch whose start revision was compacted meanwhile.
    if (/compact/i.test(err.message)) void store.compactedRevision().then((m) => fail(new ApiError(410, "Expired", `too old resource version: ${from} (${m})`)), fail);
    else fail(err);
  });
}
