// weft-lab netpol end to end: the upstream NetworkPolicy model built in a 2-node lab, its 9×9 truth
// tables probed with real connections, and upstream cases replayed — each case's expected tables
// computed by the pure policy model (daemon/policy/evaluate.ts) over the lab's own pods and compared
// with what the probes observe, weftd enforcing them.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { evaluate } from "../../daemon/policy/evaluate.js";
import { ClusterIndex } from "../../daemon/policy/cluster-index.js";
import type { Cluster, NetworkPolicy, Protocol } from "../../daemon/policy/types.js";
import { summarize, uniformGrid, type Grid } from "../../lab/matrix/truth-table.js";
import { eventually, metricValue, useLab } from "../helpers/lab.js";

const { lab, status, kubectl } = useLab("np", ["--nodes", "2", "--pods-per-node", "0"]);
const scratch = mkdtempSync(join(tmpdir(), "weft-netpol-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Table {
  protocol: Protocol;
  port: number;
  observed: Grid;
  expected?: Grid;
  incorrect?: number;
  wrong?: string[];
}
interface NetpolJson {
  pods: { key: string; ip: string; node: string; netns: string }[];
  buildMs: number;
  probeMs: number;
  tables: Table[];
}

function netpol(...args: string[]): { code: number; result: NetpolJson } {
  const r = lab("netpol", "--json", ...args);
  if (!r.out.trim().startsWith("{")) throw new Error(`weft-lab netpol failed (${r.code}): ${r.err}`);
  return { code: r.code, result: JSON.parse(r.out) as NetpolJson };
}


type Item = { metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: Record<string, unknown>; status?: Record<string, unknown> };
const items = (args: string[]): Item[] => (JSON.parse(kubectl([...args, "-o", "json"])) as { items: Item[] }).items;

/** The lab's model as the policy evaluator sees it: its namespaces, pods (addresses, ports, nodes) and nodes, read from the API. */
function clusterOf(networkPolicies: NetworkPolicy[]): Cluster {
  const pods = ["x", "y", "z"].flatMap((ns) => items(["get", "pods", "-n", ns]));
  return {
    namespaces: items(["get", "namespaces"]).map((n) => ({ name: n.metadata.name, labels: n.metadata.labels ?? {} })),
    pods: pods.map((p) => ({
      namespace: p.metadata.namespace ?? "",
      name: p.metadata.name,
      labels: p.metadata.labels ?? {},
      ips: ((p.status?.podIPs as { ip: string }[] | undefined) ?? []).map((x) => x.ip),
      node: String(p.spec?.nodeName ?? ""),
      ports: ((p.spec?.containers as { ports?: { containerPort: number; name?: string; protocol?: Protocol }[] }[] | undefined) ?? []).flatMap((c) => c.ports ?? []),
    })),
    nodes: items(["get", "nodes"]).map((n) => ({ name: n.metadata.name, labels: n.metadata.labels ?? {}, ips: ((n.status?.addresses as { address: string }[] | undefined) ?? []).map((a) => a.address) })),
    networkPolicies,
    clusterNetworkPolicies: [],
  };
}

const COMBOS: { protocol: Protocol; port: number }[] = [
  { protocol: "TCP", port: 80 },
  { protocol: "TCP", port: 81 },
  { protocol: "UDP", port: 80 },
  { protocol: "UDP", port: 81 },
];

/** The expected table per port and protocol, from the pure model: "TCP/80" → grid. */
function expectedTables(cluster: Cluster, pods: string[]): Record<string, Grid> {
  const index = new ClusterIndex(cluster);
  const out: Record<string, Grid> = {};
  for (const { protocol, port } of COMBOS) {
    const grid: Grid = {};
    for (const from of pods) grid[from] = Object.fromEntries(pods.map((to) => [to, evaluate(cluster, { from: { pod: from }, to: { pod: to }, protocol, port }, index).allowed]));
    out[`${protocol}/${port}`] = grid;
  }
  return out;
}

/** Tables that disagree with their expectation (pod → itself ignored, as upstream does). */
const disagreements = (tables: Table[], expected: Record<string, Grid>, pods: string[]): string[] =>
  tables.flatMap((t) => summarize(pods, expected[`${t.protocol}/${t.port}`] ?? {}, t.observed).wrong.map((w) => `${t.protocol}/${t.port} ${w}`));

describe("weft-lab netpol", () => {
  let pods: string[] = [];

  it("builds the upstream model and, with no policy, every one of the 81 pairs connects on TCP and UDP 80 and 81", () => {
    const { code, result } = netpol();
    pods = result.pods.map((p) => p.key);
    expect(pods).toEqual(["x/a", "x/b", "x/c", "y/a", "y/b", "y/c", "z/a", "z/b", "z/c"]);
    // Both nodes run model pods: the table crosses nodes as well as namespaces.
    expect(new Set(result.pods.map((p) => p.node)).size).toBe(2);
    expect(result.tables.map((t) => `${t.protocol}/${t.port}`)).toEqual(["TCP/80", "TCP/81", "UDP/80", "UDP/81"]);
    expect(result.tables.flatMap((t) => summarize(pods, uniformGrid(pods, true), t.observed).wrong.map((w) => `${t.protocol}/${t.port} ${w}`))).toEqual([]);
    expect(code).toBe(0);
    // Building again finds the model in place.
    const again = netpol("--ports", "80", "--protocols", "tcp");
    expect(again.result.pods.map((p) => p.ip)).toEqual(result.pods.map((p) => p.ip));
    process.stderr.write(`netpol: model built in ${result.buildMs} ms, 4 tables of 9×9 probed in ${result.probeMs} ms; rebuilt (unchanged) in ${again.result.buildMs} ms\n`);
  }, 120_000);

  it("reaches every pod through its Service too, SCTP included (raw INIT → INIT ACK where the kernel has no SCTP sockets)", () => {
    const { code, result } = netpol("--via", "service", "--ports", "80", "--protocols", "tcp,udp,sctp");
    expect(result.tables.map((t) => `${t.protocol}/${t.port}`)).toEqual(["TCP/80", "UDP/80", "SCTP/80"]);
    expect(result.tables.flatMap((t) => summarize(pods, uniformGrid(pods, true), t.observed).wrong.map((w) => `${t.protocol}/${t.port} ${w}`))).toEqual([]);
    expect(code).toBe(0);
  }, 60_000);

  it("turns exactly the cells of a dropped path to X, and --expect says whether the table is the one expected", () => {
    const { result } = netpol("--ports", "81", "--protocols", "tcp");
    const xa = result.pods.find((p) => p.key === "x/a");
    const node = status().nodes.find((n) => n.name === xa?.node);
    // TCP to x/a's port 81, dropped where its node forwards it (bridge netfilter sees same-node traffic too).
    const rule = ["FORWARD", "-p", "tcp", "-d", xa?.ip ?? "", "--dport", "81", "-j", "DROP"];
    spawnSync("ip", ["netns", "exec", node?.netns ?? "", "iptables", "-I", ...rule]);
    try {
      const want = uniformGrid(pods, true);
      for (const from of pods) if (from !== "x/a") want[from]!["x/a"] = false;
      const file = join(scratch, "expect-x-a-81.json");
      writeFileSync(file, JSON.stringify({ "TCP/81": want, "*": uniformGrid(pods, true) }));
      const dropped = netpol("--ports", "80,81", "--protocols", "tcp", "--expect", file);
      expect(dropped.result.tables.map((t) => [`${t.protocol}/${t.port}`, t.incorrect, t.wrong])).toEqual([
        ["TCP/80", 0, []],
        ["TCP/81", 0, []],
      ]);
      expect(dropped.code).toBe(0);
      // The same expectation once the path is open again: the x/a column disagrees, and the exit status says so.
      spawnSync("ip", ["netns", "exec", node?.netns ?? "", "iptables", "-D", ...rule]);
      const open = netpol("--ports", "81", "--protocols", "tcp", "--expect", file);
      expect(open.result.tables[0]?.incorrect).toBe(8);
      expect(open.code).toBe(1);
    } finally {
      spawnSync("ip", ["netns", "exec", node?.netns ?? "", "iptables", "-D", ...rule]);
    }
  }, 60_000);

  // ---- upstream cases (network_policy.go), enforced by weftd ----

  const nsIn = (op: "In" | "NotIn", values: string[]) => ({ matchExpressions: [{ key: "ns", operator: op, values }] });
  const applied: NetworkPolicy[] = [];

  function applyPolicy(np: NetworkPolicy): void {
    kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", ...np }));
    applied.push(np);
  }

  function removePolicies(): void {
    for (const np of applied.splice(0)) kubectl(["delete", "networkpolicy", np.metadata.name, "-n", np.metadata.namespace, "--ignore-not-found"]);
  }

  /** Probes until the tables match the model's (enforcement is asynchronous), then asserts they do. */
  async function expectModelTables(): Promise<void> {
    const expected = expectedTables(clusterOf(applied), pods);
    let wrong: string[] = [];
    const deadline = Date.now() + 15_000;
    do {
      wrong = disagreements(netpol().result.tables, expected, pods);
      if (!wrong.length) break;
      await new Promise((r) => setTimeout(r, 1000));
    } while (Date.now() < deadline);
    expect(wrong).toEqual([]);
  }

  // Each case starts from no policy, whatever the one before did.
  afterEach(() => removePolicies());
  const denyIngressX: NetworkPolicy = { metadata: { name: "deny-ingress", namespace: "x" }, spec: { podSelector: {}, policyTypes: ["Ingress"] } };

  it("weftd applies a policy as soon as it is made: its table written on every node (weft_policy_applies_total)", async () => {
    applyPolicy(denyIngressX);
    const applied = (ns: string): number => ["full", "diff"].reduce((sum, kind) => sum + (metricValue(ns, `weft_policy_applies_total{kind="${kind}",result="ok"}`) || 0), 0);
    for (const n of status().nodes) await eventually(`${n.name}'s weftd counts a policy apply`, () => applied(n.netns) > 0, 5_000);
  }, 30_000);

  it("should support a 'default-deny-ingress' policy: the x column denied from everyone", async () => {
    applyPolicy(denyIngressX);
    await expectModelTables();
    const t = netpol("--ports", "80", "--protocols", "tcp").result.tables[0]!;
    for (const from of pods) for (const to of ["x/a", "x/b", "x/c"]) if (from !== to) expect(t.observed[from]?.[to], `${from} → ${to}`).toBe(false);
    expect(t.observed["y/a"]?.["z/b"]).toBe(true);
  }, 60_000);

  it("should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector", async () => {
    applyPolicy({ metadata: { name: "allow-from-y", namespace: "x" }, spec: { podSelector: { matchLabels: { pod: "a" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: "y" } } }] }] } });
    await expectModelTables();
  }, 60_000);

  it("should enforce policy based on PodSelector and NamespaceSelector (one peer: both must match)", async () => {
    applyPolicy({ metadata: { name: "allow-b-not-x", namespace: "x" }, spec: { podSelector: { matchLabels: { pod: "a" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ namespaceSelector: nsIn("NotIn", ["x"]), podSelector: { matchLabels: { pod: "b" } } }] }] } });
    await expectModelTables();
  }, 60_000);

  it("should allow ingress access on one named port (serve-81-tcp): 80 and UDP denied", async () => {
    applyPolicy({ metadata: { name: "allow-named-81", namespace: "x" }, spec: { podSelector: { matchLabels: { pod: "a" } }, policyTypes: ["Ingress"], ingress: [{ ports: [{ port: "serve-81-tcp", protocol: "TCP" }] }] } });
    await expectModelTables();
  }, 60_000);

  it("should enforce egress policy denying one namespace (x/a egress to namespaces other than y)", async () => {
    applyPolicy({ metadata: { name: "deny-egress-to-y", namespace: "x" }, spec: { podSelector: { matchLabels: { pod: "a" } }, policyTypes: ["Egress"], egress: [{ to: [{ namespaceSelector: nsIn("NotIn", ["y"]) }] }] } });
    await expectModelTables();
  }, 60_000);

  it("should enforce except clause while egress access to server in CIDR block", async () => {
    // y/b's node subnet allowed, y/b itself excepted: the other pods of that node stay reachable from x/a.
    const yb = clusterOf([]).pods.find((p) => p.namespace === "y" && p.name === "b")?.ips[0] ?? "";
    const subnet = `${yb.split(".").slice(0, 3).join(".")}.0/24`;
    applyPolicy({ metadata: { name: "egress-cidr-except", namespace: "x" }, spec: { podSelector: { matchLabels: { pod: "a" } }, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: subnet, except: [`${yb}/32`] } }] }] } });
    await expectModelTables();
  }, 60_000);

  it("removes the model with --clean", () => {
    expect(lab("netpol", "--clean").out).toMatch(/deleted namespaces x, y, z/);
    expect(kubectl(["get", "namespaces", "-o", "name"])).not.toMatch(/namespace\/[xyz]\n/);
  }, 120_000);
});
