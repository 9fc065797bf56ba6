// The network-policy-api conformance cases for ClusterNetworkPolicy (v1alpha2), both tiers, replayed
// in a dual-stack lab with real traffic: the conformance model (houses as namespaces, two pods each,
// one per node) made through the API with kubectl, each step's ClusterNetworkPolicies and
// NetworkPolicies applied as upstream patches them, weftd enforcing them, and every poke upstream makes
// sent from inside the source pod with agnhost connect on IPv4 and on IPv6 until each is the verdict
// upstream expects. The centaurs are host-network pods on each node, as upstream's are: node peers are
// dialled at the nodes' addresses.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CENTAUR_PORTS, CONFORMANCE_CASES, HOUSE_POD_PORTS, HOUSE_PODS, HOUSES, nsOf, type ConformanceStep, type Poke } from "../../daemon/policy/conformance-cases.fixture.js";
import { LAB, useLab } from "../helpers/lab.js";

const { stateDir, status, kubectl } = useLab("cnp", ["--nodes", "2", "--pods-per-node", "0", "--ip-family", "dual"]);
const ROW_PROBER = join(dirname(LAB), "netpol-row.cjs");
const STEP_DEADLINE_MS = 20_000;
const PROBE_TIMEOUT_MS = 500;


const FOREST = "forbidden-forrest";
const CENTAURS = [0, 1].map((i) => `${nsOf(FOREST)}/centaur-${i}`);

/**
 * The conformance model as manifests: each house's namespace and its two pods, …-0 on the first node,
 * …-1 on the second; the forest's centaurs, a host-network pod on each node.
 */
function houseManifests(nodes: string[]): object[] {
  const centaurs = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: nsOf(FOREST), labels: { "conformance-house": FOREST } } },
    ...[0, 1].map((i) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `centaur-${i}`, namespace: nsOf(FOREST), labels: { "conformance-house": FOREST } },
      spec: { nodeName: nodes[i], hostNetwork: true, terminationGracePeriodSeconds: 0, containers: [{ name: "agnhost", image: "registry.k8s.io/e2e-test-images/agnhost:2.53", ports: CENTAUR_PORTS }] },
    })),
  ];
  return [...centaurs, ...Object.entries(HOUSES).flatMap(([house, name]) => [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: nsOf(house), labels: { "conformance-house": house } } },
    ...[0, 1].map((i) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `${name}-${i}`, namespace: nsOf(house), labels: { "conformance-house": house } },
      spec: { nodeName: nodes[i], terminationGracePeriodSeconds: 0, containers: [{ name: "agnhost", image: "registry.k8s.io/e2e-test-images/agnhost:2.53", ports: HOUSE_POD_PORTS }] },
    })),
  ])];
}

interface RowResult {
  to: string;
  host: string;
  port: number;
  protocol: string;
  ok: boolean;
}

let prefix = "";
let ips = new Map<string, string[]>();

/** Every poke of a step on both families, one prober per source pod inside its namespace, all at once. */
async function pokeAll(pokes: Poke[]): Promise<{ poke: Poke; family: number; ok: boolean }[]> {
  const sources = [...new Set(pokes.map((p) => p.from))];
  const rows = await Promise.all(
    sources.map(
      (from) =>
        new Promise<RowResult[]>((resolve, reject) => {
          const targets = pokes.filter((p) => p.from === from).flatMap((p) => (ips.get(p.to) ?? []).map((host) => ({ to: p.to, host, port: p.port, protocol: p.protocol.toLowerCase() })));
          const [ns = "", name = ""] = from.split("/");
          const child = spawn("nsenter", [`--net=/var/run/netns/${prefix}${ns}.${name}`, process.execPath, ROW_PROBER, JSON.stringify({ from, timeoutMs: PROBE_TIMEOUT_MS, targets })], { stdio: ["ignore", "pipe", "inherit"] });
          let out = "";
          child.stdout.on("data", (d: Buffer) => (out += d.toString()));
          child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as RowResult[]) : reject(new Error(`probing from ${from} exited ${code}`))));
        }),
    ),
  );
  const bySource = new Map(sources.map((from, i) => [from, rows[i] ?? []]));
  const result = (poke: Poke, host: string): boolean =>
    bySource.get(poke.from)?.find((r) => r.to === poke.to && r.host === host && r.port === poke.port && r.protocol === poke.protocol.toLowerCase())?.ok ?? false;
  return pokes.flatMap((poke) => (ips.get(poke.to) ?? []).map((host) => ({ poke, family: host.includes(":") ? 6 : 4, ok: result(poke, host) })));
}

const cnpManifest = (step: ConformanceStep): object => ({
  apiVersion: "v1",
  kind: "List",
  items: [
    ...step.cnps.map((c) => ({ apiVersion: "policy.networking.k8s.io/v1alpha2", kind: "ClusterNetworkPolicy", ...c })),
    ...step.nps.map((n) => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", ...n })),
  ],
});

let inForce: ConformanceStep = { cnps: [], nps: [], pokes: [] };
function applyStep(step: ConformanceStep): void {
  for (const c of inForce.cnps) if (!step.cnps.some((x) => x.metadata.name === c.metadata.name)) kubectl(["delete", "clusternetworkpolicy", c.metadata.name, "--ignore-not-found"]);
  for (const n of inForce.nps) if (!step.nps.some((x) => x.metadata.name === n.metadata.name)) kubectl(["delete", "networkpolicy", n.metadata.name, "-n", n.metadata.namespace, "--ignore-not-found"]);
  // Replaced whole, as upstream's patches leave them (a rule list reordered or an action changed).
  if (step.cnps.length || step.nps.length) kubectl(["apply", "--server-side", "--force-conflicts", "-f", "-"], JSON.stringify(cnpManifest(step)));
  inForce = step;
}

describe("the network-policy-api ClusterNetworkPolicy conformance cases, in a dual-stack lab with real traffic", () => {
  beforeAll(() => {
    prefix = (JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8")) as { prefix: string }).prefix;
    kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: houseManifests(status().nodes.map((n) => n.name)) }));
    for (const house of [...Object.keys(HOUSES), FOREST]) kubectl(["wait", "--for=condition=Ready", "pod", "--all", "-n", nsOf(house), "--timeout=90s"]);
    const pods = [...Object.keys(HOUSES), FOREST].flatMap((h) => (JSON.parse(kubectl(["get", "pods", "-n", nsOf(h), "-o", "json"])) as { items: { metadata: { namespace: string; name: string }; status: { podIPs?: { ip: string }[] } }[] }).items);
    ips = new Map(pods.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, (p.status.podIPs ?? []).map((x) => x.ip)]));
    expect([...ips.keys()].sort()).toEqual([...HOUSE_PODS, ...CENTAURS].sort());
    // A centaur has its node's addresses.
    expect(ips.get(CENTAURS[1] as string)).toEqual(expect.arrayContaining([status().nodes[1]?.underlayIp]));
    for (const [key, addresses] of ips) expect(addresses.length, `${key} has both families`).toBe(2);
  }, 180_000);

  it.each(CONFORMANCE_CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    try {
      for (const [s, step] of c.steps({ ips: (p) => ips.get(p) ?? [] }).entries()) {
        applyStep(step);
        const t0 = Date.now();
        let wrong: string[] = [];
        do {
          const results = await pokeAll(step.pokes);
          wrong = results.filter((r) => r.ok !== r.poke.allowed).map((r) => `step ${s + 1} IPv${r.family} ${r.poke.from} → ${r.poke.to} ${r.poke.protocol}/${r.poke.port}: ${r.ok ? "connected" : "denied"}, expected ${r.poke.allowed ? "connected" : "denied"} (${r.poke.test})`);
          // Both families poked for every connection upstream makes.
          expect(results.length).toBe(step.pokes.length * 2);
        } while (wrong.length && Date.now() - t0 < STEP_DEADLINE_MS);
        expect(wrong).toEqual([]);
      }
    } finally {
      applyStep({ cnps: [], nps: [], pokes: [] });
    }
  }, 120_000);
});
