// Benchmark body run by bench/policy.mjs (bundled on the fly), printing JSON.
//   `model CONFIG`, inside a throwaway namespace: weftd's policy sync for a synthetic cluster, whole
//   and for label changes (bench/policy-model.ts).
//   `lab CONFIG`, on the host against a lab's API server: create → enforced and delete → allowed,
//   seen by a probe in the client pod's namespace, against the API server's watch latency; then
//   `policies` (100 policies selecting the server) and `fill` (1,000 policies over 1,000 pods).
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { KubeClient } from "../kube/client.js";
import { loadKubeconfig } from "../kube/config.js";
import { NAMESPACES, NETWORK_POLICIES, PODS, resourcePath, type KubeObject } from "../kube/resources.js";
import type { WatchEvent } from "../kube/watch-stream.js";
import { model } from "./policy-model.js";
import { synthetic } from "./policy-synthetic.js";

const now = (): number => performance.now();
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

// ---- lab: objects through the API, a probe in the client's namespace ----

interface LabConfig {
  kubeconfig: string;
  namespace: string;
  server: { ip: string; port: number };
  clientNetns: string;
  cycles: number;
  unrelatedPod: string;
}

/** A connect every ~5 ms from the client's namespace; each attempt's start and whether it connected within 100 ms. */
const PROBE = `
const net = require("node:net");
const [host, port] = process.argv.slice(1);
const t = () => performance.timeOrigin + performance.now();
setInterval(() => {
  const start = t();
  const s = net.connect({ host, port: Number(port) });
  const done = (ok) => { s.destroy(); clearTimeout(timer); process.stdout.write(start.toFixed(2) + " " + (ok ? 1 : 0) + "\\n"); };
  const timer = setTimeout(() => done(false), 100);
  s.once("connect", () => done(true));
  s.once("error", () => done(false));
}, 5);
`;

class Probe {
  private readonly attempts: { at: number; ok: boolean }[] = [];
  private readonly child;
  constructor(netns: string, host: string, port: number) {
    this.child = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", PROBE, host, String(port)], { stdio: ["ignore", "pipe", "inherit"] });
    createInterface({ input: this.child.stdout! }).on("line", (l) => {
      const [at, ok] = l.split(" ");
      this.attempts.push({ at: Number(at), ok: ok === "1" });
    });
  }
  /** ms from `since` (epoch ms) to the start of the first attempt with outcome `ok`, started after it; waits up to 10 s. */
  async firstSince(since: number, ok: boolean): Promise<number> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const hit = this.attempts.find((a) => a.at >= since && a.ok === ok);
      if (hit) return hit.at - since;
      if (Date.now() > deadline) throw new Error(`the probe saw no ${ok ? "successful" : "failed"} connect within 10 s`);
      await sleep(5);
    }
  }
  /** Whether every attempt started in [from, to] had outcome `ok` (a flap after the change would show here). */
  steady(from: number, to: number, ok: boolean): boolean {
    return this.attempts.filter((a) => a.at >= from && a.at <= to).every((a) => a.ok === ok);
  }
  stop(): void {
    this.child.kill();
  }
}

const epochNow = (): number => performance.timeOrigin + performance.now();
const denyAll = (ns: string): KubeObject => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "bench-deny-all", namespace: ns }, spec: { podSelector: { matchLabels: { app: "server" } }, policyTypes: ["Ingress"] } });

async function createToEnforced(client: KubeClient, cfg: LabConfig): Promise<unknown> {
  const probe = new Probe(cfg.clientNetns, cfg.server.ip, cfg.server.port);
  try {
    await probe.firstSince(epochNow(), true); // the probe connects before anything is denied
    const deny: number[] = [];
    const allow: number[] = [];
    let flaps = 0;
    for (let i = 0; i < cfg.cycles; i++) {
      await sleep(300);
      const t0 = epochNow();
      await client.create(NETWORK_POLICIES, denyAll(cfg.namespace));
      deny.push(await probe.firstSince(t0, false));
      await sleep(300);
      if (!probe.steady(t0 + deny.at(-1)! + 20, epochNow() - 150, false)) flaps++;
      const t1 = epochNow();
      await client.delete(NETWORK_POLICIES, "bench-deny-all", cfg.namespace);
      allow.push(await probe.firstSince(t1, true));
      await sleep(300);
      if (!probe.steady(t1 + allow.at(-1)! + 20, epochNow() - 150, true)) flaps++;
    }
    return { deny, allow, flaps };
  } finally {
    probe.stop();
  }
}

/** The reference: a label change on an unrelated pod, from its PATCH to the event at a watching client. */
async function watchLatency(client: KubeClient, cfg: LabConfig): Promise<number[]> {
  const abort = new AbortController();
  const rv = (await client.list(PODS, { namespace: cfg.namespace })).metadata?.resourceVersion;
  const events = await client.watch(PODS, { namespace: cfg.namespace, resourceVersion: rv, signal: abort.signal });
  let waiting: { value: string; resolve: (t: number) => void } | undefined;
  const reading = (async () => {
    for await (const e of events as AsyncGenerator<WatchEvent>) if (waiting && e.object.metadata?.labels?.["bench-tick"] === waiting.value) waiting.resolve(epochNow());
  })().catch(() => {});
  const out: number[] = [];
  for (let i = 0; i < cfg.cycles; i++) {
    await sleep(100);
    const value = `v${i}`;
    const seen = new Promise<number>((resolve) => (waiting = { value, resolve }));
    const t0 = epochNow();
    await client.patch(PODS, cfg.unrelatedPod, { metadata: { labels: { "bench-tick": value } } }, { namespace: cfg.namespace });
    out.push((await seen) - t0);
  }
  abort.abort();
  await reading;
  return out;
}

async function pool(count: number, concurrency: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await work(next++);
  }));
}

/** 100 policies selecting the server, each allowing the client on its own port; only the last by name on the measured ports. */
async function serverPolicies(client: KubeClient, cfg: LabConfig & { count: number; ports: number[] }): Promise<unknown> {
  await pool(cfg.count, 10, (k) => {
    const last = k === cfg.count - 1;
    const ports = last ? cfg.ports.map((port) => ({ protocol: "TCP", port })) : [{ protocol: "TCP", port: 10000 + k }];
    return client.create(NETWORK_POLICIES, { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: `bench-allow-${String(k).padStart(3, "0")}`, namespace: cfg.namespace }, spec: { podSelector: { matchLabels: { app: "server" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: { matchLabels: { app: "client" } } }], ports }] } });
  });
  return { created: cfg.count };
}

async function deleteServerPolicies(client: KubeClient, cfg: LabConfig & { count: number }): Promise<unknown> {
  await pool(cfg.count, 10, (k) => client.delete(NETWORK_POLICIES, `bench-allow-${String(k).padStart(3, "0")}`, cfg.namespace));
  return { deleted: cfg.count };
}

/** 1,000 policies over 1,000 pods bound to a node that does not exist (no kubelet starts them), given addresses through /status. */
async function fill(client: KubeClient, cfg: { namespaces: number; podsPerNamespace: number; policies: number }): Promise<unknown> {
  const syn = synthetic(cfg.namespaces, cfg.podsPerNamespace, cfg.policies, () => "bench-ghost-node", false);
  const t0 = now();
  await pool(syn.namespaces.length, 10, (i) => client.create(NAMESPACES, syn.namespaces[i] as unknown as KubeObject));
  await pool(syn.pods.length, 20, async (i) => {
    const p = syn.pods[i]!;
    await client.create(PODS, p as unknown as KubeObject);
    const ip = `10.250.${Math.floor(i / 250)}.${(i % 250) + 2}`;
    await client.request({ method: "PATCH", path: `${resourcePath(PODS, p.metadata.namespace, p.metadata.name)}/status`, body: { status: { phase: "Running", podIP: ip, podIPs: [{ ip }] } }, contentType: "application/merge-patch+json" });
  });
  await pool(syn.policies.length, 20, (i) => client.create(NETWORK_POLICIES, syn.policies[i] as unknown as KubeObject));
  return { ms: now() - t0, namespaces: syn.namespaces.length, pods: syn.pods.length, policies: syn.policies.length };
}

const [mode, raw] = process.argv.slice(2);
const cfg = JSON.parse(raw ?? "{}");
let out: unknown;
if (mode === "model") out = await model(cfg);
else {
  const client = new KubeClient(loadKubeconfig(cfg.kubeconfig));
  try {
    if (mode === "enforce") out = { enforce: await createToEnforced(client, cfg), watch: await watchLatency(client, cfg) };
    else if (mode === "policies") out = await serverPolicies(client, cfg);
    else if (mode === "unpolicies") out = await deleteServerPolicies(client, cfg);
    else if (mode === "fill") out = await fill(client, cfg);
    else throw new Error(`unknown mode ${mode}`);
  } finally {
    client.close();
  }
}
console.log(JSON.stringify(out));
