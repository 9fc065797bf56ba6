// Every case of the upstream NetworkPolicy e2e suite (kubernetes test/e2e/network/netpol/
// network_policy.go: its TCP context and the UDP and SCTP variants), replayed in a dual-stack lab with
// real traffic on both families: each step's policies and labels made through the API with kubectl,
// weftd enforcing them, and the model's 9×9 table probed with agnhost connect by `weft-lab netpol`
// until it equals the reachability upstream expects, on IPv4 and on IPv6. The expectations are
// upstream's (the same catalogue the policy model is unit-tested against), not weft's own model.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_PODS, Reachability } from "../../daemon/policy/truth-table.fixture.js";
import { UPSTREAM_CASES, type CaseStep } from "../../daemon/policy/upstream-netpol-cases.fixture.js";
import type { NetworkPolicy } from "../../daemon/policy/types.js";
import { useLab } from "../helpers/lab.js";

const { lab, kubectl } = useLab("npu", ["--nodes", "2", "--pods-per-node", "0", "--ip-family", "dual"]);
const scratch = mkdtempSync(join(tmpdir(), "weft-netpol-upstream-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** agnhost connect's timeout: upstream's is 1 s for clusters far larger than two namespaces' worth of veths. */
const PROBE_TIMEOUT = "500ms";
/** How long a step may take to be enforced on every node and observed. */
const STEP_DEADLINE_MS = 20_000;

interface Table {
  family: 4 | 6;
  protocol: string;
  port: number;
  expected?: Record<string, Record<string, boolean>>;
  incorrect?: number;
  wrong?: string[];
}
interface NetpolJson {
  pods: { key: string; ips: string[] }[];
  tables: Table[];
}


function netpol(args: string[]): { code: number; result: NetpolJson } {
  const r = lab("netpol", "--json", "--family", "both", "--timeout", PROBE_TIMEOUT, ...args);
  if (!r.out.trim().startsWith("{")) throw new Error(`weft-lab netpol failed (${r.code}): ${r.err}`);
  return { code: r.code, result: JSON.parse(r.out) as NetpolJson };
}

/** The cluster as a case left it, undone before the next: its policies, and the labels it added. */
const added = { namespaces: new Map<string, string[]>(), pods: new Map<string, string[]>() };
let inForce: NetworkPolicy[] = [];

function applyStep(step: CaseStep): void {
  const names = new Set(step.policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
  const gone = new Map<string, string[]>();
  for (const p of inForce) if (!names.has(`${p.metadata.namespace}/${p.metadata.name}`)) gone.set(p.metadata.namespace, [...(gone.get(p.metadata.namespace) ?? []), p.metadata.name]);
  for (const [ns, policies] of gone) kubectl(["delete", "networkpolicy", "-n", ns, "--ignore-not-found", ...policies]);
  if (step.policies.length) kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: step.policies.map((p) => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", ...p })) }));
  inForce = step.policies;
  for (const [ns, labels] of Object.entries(step.namespaceLabels ?? {})) {
    kubectl(["label", "namespace", ns, "--overwrite", ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
    added.namespaces.set(ns, [...(added.namespaces.get(ns) ?? []), ...Object.keys(labels)]);
  }
  for (const [key, labels] of Object.entries(step.podLabels ?? {})) {
    const [ns = "", pod = ""] = key.split("/");
    kubectl(["label", "pod", pod, "-n", ns, "--overwrite", ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
    added.pods.set(key, [...(added.pods.get(key) ?? []), ...Object.keys(labels)]);
  }
}

function undoCase(): void {
  applyStep({ policies: [], probes: [] });
  for (const [ns, keys] of added.namespaces) kubectl(["label", "namespace", ns, ...keys.map((k) => `${k}-`)]);
  for (const [key, keys] of added.pods) {
    const [ns = "", pod = ""] = key.split("/");
    kubectl(["label", "pod", pod, "-n", ns, ...keys.map((k) => `${k}-`)]);
  }
  added.namespaces.clear();
  added.pods.clear();
}

/** Upstream's expected reachability for one probe, as a grid keyed "ns/pod". */
function expectedGrid(want: (r: Reachability) => Reachability): Record<string, Record<string, boolean>> {
  const r = want(new Reachability(ALL_PODS, true));
  return Object.fromEntries(ALL_PODS.map((from) => [from, Object.fromEntries(ALL_PODS.map((to) => [to, r.expectation(from, to)]))]));
}

/** Probes the step's ports and protocols on both families until every table is the expected one, or the deadline. */
async function observeStep(step: CaseStep, file: string): Promise<{ tables: Table[]; rounds: number; ms: number }> {
  writeFileSync(file, JSON.stringify(Object.fromEntries(step.probes.map((p) => [`${p.protocol}/${p.port}`, expectedGrid(p.want)]))));
  const ports = [...new Set(step.probes.map((p) => p.port))].join(",");
  const protocols = [...new Set(step.probes.map((p) => p.protocol.toLowerCase()))].join(",");
  const t0 = Date.now();
  for (let rounds = 1; ; rounds++) {
    const { code, result } = netpol(["--ports", ports, "--protocols", protocols, "--expect", file]);
    const judged = result.tables.filter((t) => t.expected);
    if (code === 0 || Date.now() - t0 > STEP_DEADLINE_MS) return { tables: judged, rounds, ms: Date.now() - t0 };
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("the upstream NetworkPolicy e2e suite, in a dual-stack lab with real traffic", () => {
  const summary: string[] = [];
  let ips = new Map<string, string[]>();
  function writeAllowAll(): string {
    const file = join(scratch, "allow-all.json");
    writeFileSync(file, JSON.stringify({ "*": expectedGrid((r) => r) }));
    return file;
  }
  beforeAll(() => {
    // The model built once; with no policy every pair connects on both families.
    const { code, result } = netpol(["--ports", "80", "--protocols", "tcp", "--expect", writeAllowAll()]);
    if (code !== 0) throw new Error(`the model without policies is not fully connected: ${JSON.stringify(result.tables.map((t) => t.wrong))}`);
    ips = new Map(result.pods.map((p) => [p.key, p.ips]));
  }, 180_000);
  afterAll(() => process.stderr.write(`upstream netpol replay (observed → expected, per case):\n${summary.join("\n")}\n`));

  it.each(UPSTREAM_CASES.map((c, i) => [c.name, c, i] as const))("%s", async (_name, c, i) => {
    try {
      const steps = c.steps({ ips: (pod) => ips.get(pod) ?? [] });
      for (const [s, step] of steps.entries()) {
        applyStep(step);
        const { tables, rounds, ms } = await observeStep(step, join(scratch, `case-${i}-${s}.json`));
        summary.push(`  ${c.name} step ${s + 1}: ${rounds} round(s), ${ms} ms`);
        // Every probe judged on both families.
        expect(tables.map((t) => `${t.protocol}/${t.port} IPv${t.family}`).sort()).toEqual(step.probes.flatMap((p) => [4, 6].map((f) => `${p.protocol}/${p.port} IPv${f}`)).sort());
        expect(tables.flatMap((t) => (t.wrong ?? []).map((w) => `step ${s + 1} ${t.protocol}/${t.port} IPv${t.family}: ${w}`))).toEqual([]);
      }
    } finally {
      undoCase();
    }
  }, 120_000);
});
