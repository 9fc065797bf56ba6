// weftd with --kubeconfig, in a namespace of its own beside its etcd and a scripted API server (over
// HTTPS on the namespace's 127.0.0.1): unready until its watches have synced, then ready although the
// API does not serve ClusterNetworkPolicies; its metrics and logs say what it watches and from where.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { useNodeNamespace } from "../helpers/node-namespace.js";
import { makeSelfSignedCert } from "../helpers/scripted-kube-api.js";

const IP = "10.97.0.1";
const SERVER = resolve(import.meta.dirname, "../fixtures/kube-api-server.mjs");

describe("weftd watching the Kubernetes API", () => {
  const node = useNodeNamespace("wk", IP);
  let api: ChildProcess | undefined;
  let log = () => "";
  let dir = "";
  let netns = "";

  const http = (path: string): { status: number; body: string } => {
    const r = spawnSync("ip", ["netns", "exec", netns, "curl", "-s", "-w", "\n%{http_code}", `http://127.0.0.1:19905${path}`], { encoding: "utf8" });
    const out = r.stdout.trimEnd().split("\n");
    return { status: Number(out.pop()), body: out.join("\n") };
  };
  const lines = (): Record<string, unknown>[] => log().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
  async function until(what: string, ms: number, check: () => boolean): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}\n${log().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    ({ dir, netns } = node());
    makeSelfSignedCert(dir);
    writeFileSync(join(dir, "net-conf.json"), JSON.stringify({ Network: "10.244.0.0/16", SubnetLen: 24, Backend: { Type: "vxlan", VNI: 1 } }));
    // The CA by a path relative to the kubeconfig, as kubectl resolves it.
    const kubeconfig = { apiVersion: "v1", kind: "Config", "current-context": "lab", clusters: [{ name: "lab", cluster: { server: "https://127.0.0.1:16443", "certificate-authority": "server.crt" } }], users: [{ name: "weftd", user: { token: "weftd-token" } }], contexts: [{ name: "lab", context: { cluster: "lab", user: "weftd" } }] };
    writeFileSync(join(dir, "kubeconfig"), stringify(kubeconfig));
    api = spawn("ip", ["netns", "exec", netns, process.execPath, SERVER, dir, "16443"], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((r) => api!.stdout!.once("data", () => r()));
  });

  afterAll(() => {
    if (api?.exitCode === null) api.kill("SIGKILL");
  });

  it("is not ready until its watches have synced, then ready, with the watches' metrics", async () => {
    const args = ["--etcd-endpoints", node().etcd.endpoint, "--iface", "eth0", "--subnet-file", join(dir, "subnet.env"), "--data-dir", join(dir, "cni"), "--healthz-addr", "127.0.0.1:19905", "--resync-interval", "1", "--net-conf", join(dir, "net-conf.json"), "--kubeconfig", join(dir, "kubeconfig")];
    ({ log } = node().startWeftd(args));
    // Everything else ready (the lease, the first reconcile): only the held pods' list is missing.
    await until("subnet.env written", 20_000, () => existsSync(join(dir, "subnet.env")));
    await until("only the pods' watch keeps weftd unready", 10_000, () => {
      const r = http("/readyz");
      return r.status === 503 && r.body.split("\n").filter((l) => l.startsWith("- ")).length === 1;
    });
    expect(http("/readyz").body).toMatch(/^- Kubernetes API watch of pods at https:\/\/127\.0\.0\.1:16443 not synced yet$/m);
    expect(http("/metrics").body).toMatch(/^weft_kube_watch_synced\{resource="pods"\} 0$/m);

    appendFileSync(join(dir, "release"), "");
    await until("ready", 10_000, () => http("/readyz").status === 200);
    const metrics = http("/metrics").body;
    for (const [resource, synced, objects] of [["pods", 1, 3], ["namespaces", 1, 2], ["networkpolicies.networking.k8s.io", 1, 1], ["clusternetworkpolicies.policy.networking.k8s.io", 0, 0]] as const) {
      expect(metrics).toMatch(new RegExp(`^weft_kube_watch_synced\\{resource="${resource}"\\} ${synced}$`, "m"));
      expect(metrics).toMatch(new RegExp(`^weft_kube_objects\\{resource="${resource}"\\} ${objects}$`, "m"));
    }
    expect(metrics).toMatch(/^weft_kube_watch_events_total\{resource="pods",type="ADDED"\} 1$/m);
    expect(metrics).toMatch(/^# TYPE weft_kube_relists_total counter$/m);

    // What it asked: each list with the token, then a watch from the list's resourceVersion with bookmarks.
    const requests = readFileSync(join(dir, "requests.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { path: string; query: Record<string, string>; authorization: string });
    const podWatch = requests.find((r) => r.path === "/api/v1/pods" && r.query.watch === "true");
    expect(podWatch?.query).toMatchObject({ resourceVersion: "100", allowWatchBookmarks: "true" });
    expect(Number(podWatch?.query.timeoutSeconds)).toBeGreaterThanOrEqual(300);
    expect(Number(podWatch?.query.timeoutSeconds)).toBeLessThan(600);
    expect(new Set(requests.map((r) => r.authorization))).toEqual(new Set(["Bearer weftd-token"]));

    // The logs at 3 a.m.: which server, which identity, each watch's sync, the unserved resource said once, no warning.
    // Logged as each watch syncs; the log is written asynchronously, so a line may trail /readyz by a moment.
    await until("each watch's sync logged", 5_000, () => lines().filter((l) => l.msg === "synced").length >= 4);
    const all = lines();
    expect(all.find((l) => l.msg === "watching the Kubernetes API")).toMatchObject({ level: "info", server: "https://127.0.0.1:16443", identity: "token", from: `kubeconfig ${join(dir, "kubeconfig")} (context lab)` });
    expect(all.filter((l) => l.msg === "synced").map((l) => l.resource).sort()).toEqual(["namespaces", "networkpolicies.networking.k8s.io", "nodes", "pods"]);
    expect(all.filter((l) => String(l.msg).includes("does not serve this resource")).map((l) => l.resource)).toEqual(["clusternetworkpolicies.policy.networking.k8s.io"]);
    expect(all.filter((l) => l.level !== "info" && l.level !== "debug")).toEqual([]);
  }, 60_000);
});
