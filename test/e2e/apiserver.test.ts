// The lab's API server's watch and error semantics, through the official Python client and
// @kubernetes/client-node's informer as well as raw requests: exact replay from a revision, 410 after
// compaction and the informer's relist, 409 on a stale update, 422 naming the field, 401, 415.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { KubeConfig, CoreV1Api, makeInformer, type V1ConfigMap } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRoot } from "../helpers/netns.js";
import { startTestApiServer, type TestApiServer } from "../helpers/apiserver.js";

const cm = (name: string, v = "1") => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { v } });
const CMS = "/api/v1/namespaces/default/configmaps";
const events = (text: string) => text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string; resourceVersion: string }; code?: number; reason?: string; message?: string } });

describe.skipIf(!isRoot())("API server: watch semantics and clients", () => {
  let s: TestApiServer;
  beforeAll(async () => {
    s = await startTestApiServer(["--min-request-timeout", "2", "--bookmark-interval-ms", "500"]);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("replays exactly the events after a resourceVersion, with bookmarks and timeoutSeconds", async () => {
    const a = (await s.api("POST", CMS, cm("w-a"))).body as { metadata: { resourceVersion: string } };
    await s.api("PUT", `${CMS}/w-a`, { ...cm("w-a", "2"), metadata: { name: "w-a", resourceVersion: a.metadata.resourceVersion } });
    await s.api("POST", CMS, cm("w-b"));
    await s.api("DELETE", `${CMS}/w-a`);
    const r = await s.api("GET", `${CMS}?watch=1&resourceVersion=${a.metadata.resourceVersion}&timeoutSeconds=1&allowWatchBookmarks=true`);
    const ev = events(r.text);
    expect(ev.filter((e) => e.type !== "BOOKMARK").map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(["MODIFIED w-a", "ADDED w-b", "DELETED w-a"]);
    expect(ev.some((e) => e.type === "BOOKMARK")).toBe(true);
    const fromZero = events((await s.api("GET", `${CMS}?watch=1&resourceVersion=0&timeoutSeconds=1&labelSelector=`)).text);
    expect(fromZero.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(["ADDED w-b"]);
  });

  it("answers 410 Expired to a watch and an exact list from a compacted revision", async () => {
    const old = ((await s.api("POST", CMS, cm("c-old"))).body as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    await s.api("POST", CMS, cm("c-new"));
    const rev = JSON.parse(s.etcdctl("get", "/registry/", "-w", "json")).header.revision as number;
    s.etcdctl("compaction", String(rev));
    const w = await s.api("GET", `${CMS}?watch=1&resourceVersion=${old}`);
    expect(w.code).toBe(200);
    const ev = events(w.text);
    expect(ev).toHaveLength(1);
    expect(ev[0]?.type).toBe("ERROR");
    expect(ev[0]?.object).toMatchObject({ code: 410, reason: "Expired", message: `too old resource version: ${old} (${rev})` });
    const l = await s.api("GET", `${CMS}?resourceVersion=${old}&resourceVersionMatch=Exact`);
    expect(l.code).toBe(410);
  });

  it("refuses a stale update (409), a bad object naming the field (422), no or a wrong token (401), SMP on a CRD-like kind (415)", async () => {
    const created = (await s.api("POST", CMS, cm("e-1"))).body as { metadata: { resourceVersion: string } };
    await s.api("PUT", `${CMS}/e-1`, cm("e-1", "2"));
    const stale = await s.api("PUT", `${CMS}/e-1`, { ...cm("e-1", "3"), metadata: { name: "e-1", resourceVersion: created.metadata.resourceVersion } });
    expect(stale.code).toBe(409);
    expect(stale.body).toMatchObject({ kind: "Status", reason: "Conflict", message: `Operation cannot be fulfilled on configmaps "e-1": the object has been modified; please apply your changes to the latest version and try again` });
    const bad = await s.api("POST", "/api/v1/namespaces/default/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "Bad_Name" }, spec: { containers: [{ name: "c" }] } });
    expect(bad.code).toBe(422);
    expect((bad.body as { details: { causes: { field: string }[] } }).details.causes.map((c) => c.field)).toEqual(["metadata.name", "spec.containers[0].image"]);
    expect((await s.api("GET", CMS, undefined, { token: null })).code).toBe(401);
    expect((await s.api("GET", CMS, undefined, { token: "wrong" })).code).toBe(401);
    const cnp = { apiVersion: "policy.networking.k8s.io/v1alpha2", kind: "ClusterNetworkPolicy", metadata: { name: "deny" }, spec: { tier: "Admin", priority: 10, subject: { namespaces: {} }, ingress: [] } };
    expect((await s.api("POST", "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies", cnp)).code).toBe(201);
    const smp = await s.api("PATCH", "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies/deny", { spec: { priority: 5 } }, { contentType: "application/strategic-merge-patch+json" });
    expect(smp.code).toBe(415);
    const merge = await s.api("PATCH", "/apis/policy.networking.k8s.io/v1alpha2/clusternetworkpolicies/deny", { spec: { priority: 5 } }, { contentType: "application/merge-patch+json" });
    expect((merge.body as { spec: { priority: number } }).spec.priority).toBe(5);
  });

  it("strategic merge patch merges containers by name and env by name, and honours $patch: delete", async () => {
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "smp" }, spec: { containers: [{ name: "a", image: "x", env: [{ name: "E1", value: "1" }, { name: "E2", value: "2" }] }, { name: "b", image: "y" }] } };
    expect((await s.api("POST", "/api/v1/namespaces/default/pods", pod)).code).toBe(201);
    const r = await s.api("PATCH", "/api/v1/namespaces/default/pods/smp", { spec: { containers: [{ name: "a", env: [{ name: "E2", $patch: "delete" }, { name: "E3", value: "3" }] }, { name: "b", image: "z" }] } }, { contentType: "application/strategic-merge-patch+json" });
    const spec = (r.body as { spec: { containers: { name: string; image: string; env?: { name: string }[] }[] } }).spec;
    expect(spec.containers.map((c) => `${c.name}:${c.image}:${(c.env ?? []).map((e) => e.name).join("+")}`)).toEqual(["a:x:E1+E3", "b:z:"]);
  });

  it("serves the official Python client: list and watch", async () => {
    // One object exists before the list; the script creates another while its watch runs.
    const script = `
import kubernetes, json, sys, threading
kubernetes.config.load_kube_config(sys.argv[1])
v1 = kubernetes.client.CoreV1Api()
lst = v1.list_namespaced_config_map("default", label_selector="py=yes")
body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "py-2", "labels": {"py": "yes"}}}
threading.Timer(0.5, lambda: v1.create_namespaced_config_map("default", body)).start()
w = kubernetes.watch.Watch()
seen = [(e["type"], e["object"].metadata.name) for e in w.stream(v1.list_namespaced_config_map, "default", label_selector="py=yes", resource_version=lst.metadata.resource_version, timeout_seconds=2)]
print(json.dumps({"list": [i.metadata.name for i in lst.items], "watch": seen}))
`;
    expect((await s.api("POST", CMS, { ...cm("py-1"), metadata: { name: "py-1", labels: { py: "yes" } } })).code).toBe(201);
    const r = spawnSync("/usr/bin/python3", ["-c", script, s.files.kubeconfig], { encoding: "utf8", timeout: 20_000 });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ list: ["py-1"], watch: [["ADDED", "py-2"]] });
  });

  it("feeds client-node's informer: adds, updates, deletes, and a relist after 410 without loss or duplicates", async () => {
    const kc = new KubeConfig();
    kc.loadFromString(readFileSync(s.files.kubeconfig, "utf8"));
    const core = kc.makeApiClient(CoreV1Api);
    const log: string[] = [];
    const informer = makeInformer(kc, `${CMS}?labelSelector=inf%3Dyes`, () => core.listNamespacedConfigMap({ namespace: "default", labelSelector: "inf=yes" }), "inf=yes");
    informer.on("add", (o: V1ConfigMap) => log.push(`add ${o.metadata?.name}`));
    informer.on("update", (o: V1ConfigMap) => log.push(`update ${o.metadata?.name} ${o.data?.v}`));
    informer.on("delete", (o: V1ConfigMap) => log.push(`delete ${o.metadata?.name}`));
    const labeled = (name: string, v = "1") => ({ ...cm(name, v), metadata: { name, labels: { inf: "yes" } } });
    await informer.start();
    const until = async (what: () => boolean): Promise<void> => {
      const deadline = Date.now() + 10_000;
      while (!what()) {
        if (Date.now() > deadline) throw new Error(`informer log: ${log.join(", ")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await s.api("POST", CMS, labeled("i-1"));
      await s.api("PUT", `${CMS}/i-1`, labeled("i-1", "2"));
      await s.api("POST", CMS, labeled("i-2"));
      await s.api("DELETE", `${CMS}/i-2`);
      await until(() => log.length >= 4);
      expect(log).toEqual(["add i-1", "update i-1 2", "add i-2", "delete i-2"]);
      // Its revision falls behind the compaction (writes elsewhere), so its next watch gets 410 and it relists.
      for (let i = 0; i < 3; i++) s.etcdctl("put", `/unrelated/${i}`, "x");
      const rev = JSON.parse(s.etcdctl("get", "/registry/", "-w", "json")).header.revision as number;
      s.etcdctl("compaction", String(rev));
      await until(() => countLists() >= 2);
      await s.api("POST", CMS, labeled("i-3"));
      await until(() => log.includes("add i-3"));
      expect(log).toEqual(["add i-1", "update i-1 2", "add i-2", "delete i-2", "add i-3"]);
      expect(informer.list().map((o) => o.metadata?.name).sort()).toEqual(["i-1", "i-3"]);
    } finally {
      await informer.stop();
    }
    function countLists(): number {
      return readFileSync(s.logFile, "utf8").split("\n").filter((l) => l.includes(`"path":"${CMS}"`) && l.includes("inf%3Dyes") && !l.includes("watch=")).length;
    }
  });
});
