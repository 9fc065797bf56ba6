// The informer against a scripted API server over HTTPS: what it asks for (resourceVersions, pages,
// bookmarks), what its handlers hear (each change once), and how it fails and stops.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { startScriptedKubeApi, status, type RecordedRequest, type Reply, type ScriptedKubeApi, type WatchWriter } from "../test/helpers/scripted-kube-api.js";
import { KubeClient } from "./client.js";
import { Informer, type InformerOptions } from "./informer.js";
import { PODS, type KubeObject } from "./resources.js";

const pod = (name: string, rv: string): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", resourceVersion: rv } });
const list = (rv: string, items: KubeObject[], cont?: string): Reply => ({ status: 200, body: { kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: rv, ...(cont ? { continue: cont } : {}) }, items } });
const until = async (what: string, check: () => boolean, ms = 5_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

let api: ScriptedKubeApi | undefined;
let informer: Informer<KubeObject> | undefined;
let client: KubeClient | undefined;
afterEach(async () => {
  await informer?.stop();
  client?.close();
  await api?.close();
  api = informer = client = undefined;
});

/** Starts the server and an informer on pods whose handlers record what they hear. */
async function setUp(handler: (req: RecordedRequest, watches: number) => Reply | Promise<Reply>, opts: InformerOptions<KubeObject> = {}): Promise<{ heard: string[]; informer: Informer<KubeObject>; api: ScriptedKubeApi }> {
  let watches = 0;
  api = await startScriptedKubeApi((req) => handler(req, req.query.get("watch") === "true" ? ++watches : watches));
  client = new KubeClient({ server: api.url, ca: readFileSync(api.caFile), insecureSkipTlsVerify: false, identity: "token", token: () => "sekrit", source: "test" });
  const heard: string[] = [];
  const name = (o: KubeObject): string => `${o.metadata?.name}@${o.metadata?.resourceVersion}`;
  informer = new Informer(client, PODS, {
    pageSize: 1,
    backoff: { initialMs: 40, maxMs: 1_000, random: () => 0 },
    random: () => 0.5,
    handlers: { onAdd: (o) => heard.push(`add ${name(o)}`), onUpdate: (old, o) => heard.push(`update ${name(old)}→${name(o)}`), onDelete: (o) => heard.push(`delete ${name(o)}`) },
    ...opts,
  }).start();
  return { heard, informer, api };
}

const watchRequests = (a: ScriptedKubeApi): RecordedRequest[] => a.requests.filter((r) => r.query.get("watch") === "true");
/** A watch that stays open until the test ends. */
const hold: Reply = { watch: () => undefined };

describe("informer", () => {
  it("lists in pages, watches from the list's resourceVersion, and watches again from the last one seen (bookmarks included)", async () => {
    let second: WatchWriter | undefined;
    const { heard, informer, api } = await setUp((req, watches) => {
      if (req.query.get("watch") !== "true") return req.query.get("continue") === "page2" ? list("12", [pod("b", "11")]) : list("12", [pod("a", "10")], "page2");
      if (watches === 1)
        return {
          watch: (w) => {
            w.send("ADDED", pod("c", "13"));
            w.send("MODIFIED", pod("a", "14"));
            w.send("BOOKMARK", { kind: "Pod", metadata: { resourceVersion: "20" } });
            w.end(); // as the server's timeoutSeconds ends it
          },
        };
      if (watches === 2) return { watch: (w) => ((second = w), w.send("DELETED", pod("b", "21"))) };
      return hold;
    });
    expect(await informer.synced()).toBe(true);
    await until("the second watch's delete", () => heard.length === 5);
    expect(heard).toEqual(["add a@10", "add b@11", "add c@13", "update a@10→a@14", "delete b@21"]);
    const lists = api.requests.filter((r) => r.query.get("watch") !== "true");
    expect(lists.map((r) => [r.path, r.query.get("limit"), r.query.get("continue")])).toEqual([["/api/v1/pods", "1", null], ["/api/v1/pods", "1", "page2"]]);
    const [w1, w2] = watchRequests(api);
    expect(w1!.query.get("resourceVersion")).toBe("12"); // the list's
    expect(w1!.query.get("allowWatchBookmarks")).toBe("true");
    expect(Number(w1!.query.get("timeoutSeconds"))).toBe(450); // 300 s × (1 + 0.5)
    expect(w2!.query.get("resourceVersion")).toBe("20"); // the bookmark's, not the last object's
    expect(w1!.headers.authorization).toBe("Bearer sekrit");
    expect(informer.store.list().map((o) => o.metadata?.name).sort()).toEqual(["a", "c"]);
    expect(informer.counters).toMatchObject({ events: { ADDED: 1, MODIFIED: 1, DELETED: 1, BOOKMARK: 1, ERROR: 0 }, watchRestarts: 1, relists: {} });
    expect(informer.resourceVersion).toBe("21");
    second?.end();
    await until("a third watch from 21", () => watchRequests(api).length === 3);
    expect(watchRequests(api)[2]!.query.get("resourceVersion")).toBe("21");
  });

  it("on an ERROR 410 event lists again and hands out only the difference: one delete, one add, nothing repeated", async () => {
    const { heard, informer, api } = await setUp((req, watches) => {
      if (req.query.get("watch") !== "true") return watches === 0 ? list("5", [pod("a", "1"), pod("b", "2")]) : list("40", [pod("a", "1"), pod("c", "30")]);
      if (watches === 1) return { watch: (w) => w.send("ERROR", status(410, "Expired", "too old resource version: 5 (30)")) };
      return hold;
    }, { pageSize: 10 });
    await until("the relist's changes", () => heard.length === 4);
    await until("a watch from the relist's resourceVersion", () => watchRequests(api).length === 2);
    expect(heard).toEqual(["add a@1", "add b@2", "delete b@2", "add c@30"]);
    expect(watchRequests(api)[1]!.query.get("resourceVersion")).toBe("40");
    expect(informer.counters.relists).toEqual({ expired: 1 });
    expect(informer.counters.events.ERROR).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(heard).toHaveLength(4);
  });

  it("relists on an HTTP 410 for the watch too", async () => {
    const { heard, informer } = await setUp((req, watches) => {
      if (req.query.get("watch") !== "true") return watches === 0 ? list("5", [pod("a", "1")]) : list("9", [pod("a", "8")]);
      if (watches === 1) return { status: 410, body: status(410, "Expired", "too old") };
      return hold;
    });
    await until("the update", () => heard.length === 2);
    expect(heard).toEqual(["add a@1", "update a@1→a@8"]);
    expect(informer.counters.relists).toEqual({ expired: 1 });
  });

  it("backs off on 500s, doubling, reports the failure meanwhile, and clears it on success", async () => {
    let failures = 0;
    let sawError: string | undefined;
    const { informer, api } = await setUp((req) => {
      if (req.query.get("watch") === "true") return hold;
      if (failures < 3) {
        failures++;
        if (failures === 3) sawError = informer?.lastError?.message;
        return { status: 500, body: status(500, "InternalError", "etcdserver: request timed out") };
      }
      return list("7", [pod("a", "1")]);
    });
    expect(await informer.synced()).toBe(true);
    const at = api.requests.filter((r) => r.query.get("watch") !== "true").map((r) => r.at);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // random 0: each wait is half its ceiling, 40 ms doubling: 20, 40, 80.
    expect(gaps[0]).toBeGreaterThanOrEqual(18);
    expect(gaps[1]).toBeGreaterThanOrEqual(38);
    expect(gaps[2]).toBeGreaterThanOrEqual(78);
    expect(sawError).toMatch(/GET \/api\/v1\/pods: 500 InternalError: etcdserver: request timed out/);
    expect(informer.lastError).toBeUndefined();
  });

  it("says once that a resource is not served (404), stays unsynced without an error, and asks again rarely", async () => {
    const infos: string[] = [];
    const { informer, api } = await setUp(() => ({ status: 404, body: status(404, "NotFound", "the server could not find the requested resource") }), {
      notServedRetryMs: 150,
      log: { info: (_f, m) => infos.push(m), warn: (_f, m) => infos.push(`warn: ${m}`), debug: () => undefined },
    });
    await until("asked three times", () => api.requests.length >= 3);
    expect(informer.notServed).toBe(true);
    expect(informer.hasSynced).toBe(false);
    expect(informer.lastError).toBeUndefined();
    expect(infos.filter((m) => /does not serve/.test(m))).toHaveLength(1);
    expect(infos.some((m) => m.startsWith("warn"))).toBe(false);
    expect(api.requests[2]!.at - api.requests[1]!.at).toBeGreaterThanOrEqual(140);
  });

  it("stop() ends the open watch and its waits: no connection, no timer left, synced() answers false", async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    let watchClosed = false;
    const { informer, api } = await setUp((req) => (req.query.get("watch") === "true" ? { watch: (w) => void w.closed.then(() => (watchClosed = true)) } : { status: 500, body: status(500, "InternalError", "x") }), { backoff: { initialMs: 60_000 } });
    await until("one failed list", () => api.requests.length === 1);
    await new Promise((r) => setTimeout(r, 20));
    await informer.stop();
    expect(await informer.synced()).toBe(false);
    client?.close();
    await until("connections closed", () => api.openConnections() === 0);
    expect(process.getActiveResourcesInfo().filter((r) => r === "Timeout").length).toBeLessThanOrEqual(before);
    expect(watchClosed).toBe(false); // it never got to watch
  });

  it("stop() while watching closes the watch at the server", async () => {
    let closed = false;
    const { informer } = await setUp((req) => (req.query.get("watch") === "true" ? { watch: (w) => void w.closed.then(() => (closed = true)) } : list("3", [])));
    await informer.synced();
    await until("watching", () => watchRequests(api!).length === 1);
    await informer.stop();
    await until("the server saw the watch end", () => closed);
    expect(informer.counters.watchRestarts).toBe(0);
  });
});
