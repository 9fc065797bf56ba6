// Benchmark body run by bench/policy.mjs (bundled on the fly), printing JSON.
//   `model CONFIG`, inside a throwaway namespace: weftd's policy sync as policy-enforcer.ts runs it
//   (buildCluster → compile → counters → PolicyTable.apply with nft) for a synthetic cluster, whole
//   and after one pod label change, against `nft -f` of the same text alone and of a flat table of
//   the same size.
//   `lab CONFIG`, on the host against a lab's API server: create → enforced and delete → allowed,
//   seen by a probe in the client pod's namespace, against the API server's watch latency; then
//   `policies` (100 policies selecting the server) and `fill` (1,000 policies over 1,000 pods).
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { KubeClient } from "../kube/client.js";
import { loadKubeconfig } from "../kube/config.js";
import { NAMESPACES, NETWORK_POLICIES, PODS, resourcePath, type KubeObject } from "../kube/resources.js";
import type { WatchEvent } from "../kube/watch-stream.js";
import { execHere } from "../daemon/exec.js";
import type { Namespace, NetworkPolicy, Pod } from "../daemon/kube-watches.js";
import { buildCluster } from "../daemon/policy-cluster.js";
import { withPolicyCounters } from "../daemon/policy-counters.js";
import { PolicyTable } from "../daemon/policy-table.js";
import { compile } from "../daemon/policy/compile.js";
import { diffRulesets, renderRuleset, type CompiledRuleset } from "../daemon/policy/nft-ruleset.js";

const NODE = "bench-node";
const now = (): number => performance.now();
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

// ---- a synthetic cluster: namespaces × pods with labels, policies with pod and namespace selectors and ports ----

interface Synthetic {
  namespaces: Namespace[];
  pods: Pod[];
  policies: NetworkPolicy[];
}

const APPS = ["web", "api", "db", "cache", "worker"];
const ROLES = ["frontend", "backend", "batch", "monitor"];

/** Pod i's address: 10.244.0.0/16, 250 per /24. */
const podIp = (i: number): string => `10.244.${Math.floor(i / 250)}.${(i % 250) + 2}`;

function synthetic(nsCount: number, podsPerNs: number, policyCount: number, node: (i: number) => string, withStatus = true): Synthetic {
  const namespaces: Namespace[] = Array.from({ length: nsCount }, (_, n) => ({ metadata: { name: `bench-ns-${n}`, labels: { team: `t${n % 10}`, env: n % 3 === 0 ? "prod" : "dev" } } }) as Namespace);
  const pods: Pod[] = [];
  for (let n = 0; n < nsCount; n++)
    for (let j = 0; j < podsPerNs; j++) {
      const i = n * podsPerNs + j;
      pods.push({
        metadata: { name: `pod-${j}`, namespace: `bench-ns-${n}`, labels: { app: APPS[j % APPS.length]!, role: ROLES[(j + n) % ROLES.length]!, shard: `s${j % 7}` } },
        spec: { nodeName: node(i), containers: [{ name: "c", image: "agnhost", ports: [{ containerPort: 8080, name: "http" }, { containerPort: 9090, name: "metrics" }] }] },
        ...(withStatus ? { status: { phase: "Running", podIP: podIp(i), podIPs: [{ ip: podIp(i) }] } } : {}),
      } as unknown as Pod);
    }
  // Each policy: its namespace's pods of one app; ingress from a role in the same namespace OR a team's
  // namespaces' pods of another app, on a numeric and a named port; every third also limits egress.
  const policies: NetworkPolicy[] = Array.from({ length: policyCount }, (_, k) => {
    const n = k % nsCount;
    const spec: Record<string, unknown> = {
      podSelector: { matchLabels: { app: APPS[k % APPS.length]! } },
      policyTypes: k % 3 === 0 ? ["Ingress", "Egress"] : ["Ingress"],
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { role: ROLES[k % ROLES.length]! } } },
            { namespaceSelector: { matchLabels: { team: `t${(k * 7) % 10}` } }, podSelector: { matchExpressions: [{ key: "shard", operator: "In", values: [`s${k % 7}`, `s${(k + 3) % 7}`] }] } },
          ],
          ports: [{ protocol: "TCP", port: 8000 + (k % 50) }, { port: "http" }],
        },
      ],
      ...(k % 3 === 0 ? { egress: [{ to: [{ namespaceSelector: { matchLabels: { env: "prod" } } }], ports: [{ protocol: "TCP", port: 5432 }] }] } : {}),
    };
    return { metadata: { name: `np-${String(k).padStart(4, "0")}`, namespace: `bench-ns-${n}` }, spec } as unknown as NetworkPolicy;
  });
  return { namespaces, pods, policies };
}

// ---- model: weftd's sync, timed by part ----

interface SyncTimes {
  build: number;
  compile: number;
  counters: number;
  render: number;
  nft: number;
  total: number;
  kind: string;
  scriptBytes: number;
}

function counts(c: CompiledRuleset): { sets: number; elements: number; rules: number; chains: number; counters: number } {
  return { sets: c.sets.length, elements: c.sets.reduce((a, s) => a + s.elements.length, 0), rules: c.chains.reduce((a, ch) => a + ch.rules.length, 0), chains: c.chains.length, counters: c.counters?.length ?? 0 };
}

/** A table of the same size without the model: as many sets with as many elements, as many rules in one chain. */
function flatTable(c: CompiledRuleset): string {
  const n = counts(c);
  const lines = ["table inet bench-flat", "delete table inet bench-flat", "table inet bench-flat {"];
  let e = 0;
  c.sets.forEach((s, i) => {
    const els = Array.from({ length: s.elements.length }, () => (e++, `10.${100 + Math.floor(e / 65536)}.${Math.floor(e / 256) % 256}.${e % 256}`));
    lines.push(`  set f${i} { type ipv4_addr;${els.length ? ` elements = { ${els.join(", ")} };` : ""} }`);
  });
  for (let k = 0; k < n.counters; k++) lines.push(`  counter c${k} { }`);
  lines.push("  chain rules {");
  for (let r = 0; r < n.rules; r++) lines.push(`    ip saddr @f${r % c.sets.length} tcp dport ${1024 + (r % 60000)} counter name "c${r % Math.max(1, n.counters)}" accept`);
  lines.push("  }", "  chain forward {", "    type filter hook forward priority filter; policy accept;", "    jump rules", "  }", "}");
  return lines.join("\n") + "\n";
}

async function model(cfg: { namespaces: number; podsPerNamespace: number; policies: number; fullRuns: number; labelRuns: number }): Promise<unknown> {
  const syn = synthetic(cfg.namespaces, cfg.podsPerNamespace, cfg.policies, () => NODE);
  const table = new PolicyTable(execHere, undefined);
  let last: CompiledRuleset | undefined;
  const sync = async (forceFull: boolean): Promise<SyncTimes> => {
    const t0 = now();
    const { cluster } = buildCluster({ pods: syn.pods, namespaces: syn.namespaces, nodes: [], networkPolicies: syn.policies, clusterNetworkPolicies: [], records: [], nodeName: NODE });
    const t1 = now();
    const compiled0 = compile(cluster, NODE);
    const t2 = now();
    const compiled = withPolicyCounters(compiled0, cluster);
    const t3 = now();
    const { script } = table.plan(compiled, forceFull); // what apply renders, timed alone (apply renders it again: < 1 % of the total)
    const t4 = now();
    const kind = await table.apply(compiled, forceFull);
    const t5 = now();
    last = compiled;
    return { build: t1 - t0, compile: t2 - t1, counters: t3 - t2, render: t4 - t3, nft: t5 - t4, total: t5 - t0 - (t4 - t3), kind, scriptBytes: script.length };
  };
  const full: SyncTimes[] = [];
  for (let i = 0; i < cfg.fullRuns; i++) full.push(await sync(true));
  const text = renderRuleset(last!);
  // The same text through nft alone, and a flat table of the same size.
  const rawNft: number[] = [];
  const flat = flatTable(last!);
  const flatNft: number[] = [];
  for (let i = 0; i < cfg.fullRuns; i++) {
    let t = now();
    await execHere("nft", ["-f", "-"], text);
    rawNft.push(now() - t);
    t = now();
    await execHere("nft", ["-f", "-"], flat);
    flatNft.push(now() - t);
  }
  await execHere("nft", ["delete", "table", "inet", "bench-flat"]);
  await sync(true); // the table applied as weftd holds it; the label changes diff from here

  // One pod's label change: each run moves a different pod's role (and so its peer-set memberships).
  const label: SyncTimes[] = [];
  const diffSamples: string[] = [];
  for (let i = 0; i < cfg.labelRuns; i++) {
    const pod = syn.pods[(i * 37) % syn.pods.length]!;
    const labels = pod.metadata.labels as Record<string, string>;
    labels.role = ROLES[(ROLES.indexOf(labels.role!) + 1) % ROLES.length]!;
    const before = last!;
    const r = await sync(false);
    if (r.kind !== "diff") throw new Error(`a label change applied as ${r.kind}, not as a diff`);
    label.push(r);
    if (i < 1) diffSamples.push(diffRulesets(before, last!));
  }
  const listed = JSON.parse(await execHere("nft", ["-j", "list", "table", "inet", "weft-policy"])) as { nftables: { rule?: unknown; set?: { elem?: unknown[] } }[] };
  const inKernel = { rules: listed.nftables.filter((x) => x.rule).length, elements: listed.nftables.reduce((a, x) => a + (x.set?.elem?.length ?? 0), 0) };
  return { size: { ...counts(last!), pods: syn.pods.length, policies: syn.policies.length, textBytes: text.length, flatBytes: flat.length }, inKernel, full, rawNft, flatNft, label, diffSample: diffSamples[0] };
}

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
