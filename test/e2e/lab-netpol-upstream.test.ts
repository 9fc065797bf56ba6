// Every case of the upstream NetworkPolicy e2e suite (kubernetes test/e2e/network/netpol/
// network_policy.go: its TCP context and the UDP and SCTP variants), replayed in a dual-stack lab with
// real traffic on both families by `weft-lab netpol --replay`: each step's policies and labels made
// through the lab's API, weftd enforcing them, and the model's 9×9 tables probed with agnhost connect
// until they equal the reachability upstream expects, on IPv4 and on IPv6. The expectations are
// upstream's (the same catalogue the policy model is unit-tested against), not weft's own model.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ALL_PODS, Reachability } from "../../daemon/policy/truth-table.fixture.js";
import { UPSTREAM_CASES, type CaseProbe } from "../../daemon/policy/upstream-netpol-cases.fixture.js";
import { useLab } from "../helpers/lab.js";

const { lab, labFor, stateDir } = useLab("npu", ["--nodes", "2", "--pods-per-node", "0", "--ip-family", "dual"]);

interface Table {
  family: 4 | 6;
  protocol: string;
  port: number;
  wrong?: string[];
}
interface Result {
  name: string;
  steps: { passed: boolean; rounds: number; ms: number; tables: Table[] }[];
}

/** Upstream's expected reachability for one probe, as a grid keyed "ns/pod". */
function expectedGrid(want: CaseProbe["want"]): Record<string, Record<string, boolean>> {
  const r = want(new Reachability(ALL_PODS, true));
  return Object.fromEntries(ALL_PODS.map((from) => [from, Object.fromEntries(ALL_PODS.map((to) => [to, r.expectation(from, to)]))]));
}

describe("the upstream NetworkPolicy e2e suite, in a dual-stack lab with real traffic", () => {
  let results = new Map<string, Result>();

  beforeAll(() => {
    // The model built once; with no policy every pair connects on both families.
    const built = lab("netpol", "--json", "--family", "both", "--ports", "80", "--protocols", "tcp", "--timeout", "500ms");
    const model = JSON.parse(built.out) as { pods: { key: string; ips: string[] }[]; tables: Table[] };
    if (built.code !== 0 || model.tables.some((t) => Object.values((t as unknown as { observed: Record<string, Record<string, boolean>> }).observed).some((row) => Object.values(row).includes(false)))) throw new Error(`the model without policies is not fully connected: ${built.err}`);
    const ips = new Map(model.pods.map((p) => [p.key, p.ips]));
    const cases = UPSTREAM_CASES.map((c) => ({
      name: c.name,
      steps: c.steps({ ips: (pod) => ips.get(pod) ?? [] }).map((s) => ({
        policies: s.policies.map((p) => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", ...p })),
        ...(s.namespaceLabels ? { namespaceLabels: s.namespaceLabels } : {}),
        ...(s.podLabels ? { podLabels: s.podLabels } : {}),
        probes: s.probes.map((p) => ({ protocol: p.protocol, port: p.port, expected: expectedGrid(p.want) })),
      })),
    }));
    const file = join(stateDir, "upstream-cases.json");
    writeFileSync(file, JSON.stringify(cases));
    // agnhost connect's timeout: upstream's is 1 s for clusters far larger than two nodes' veths.
    const r = labFor(900_000, "netpol", "--replay", file, "--json", "--family", "both", "--timeout", "500ms", "--deadline", "20s");
    if (!r.out.trim().startsWith("[")) throw new Error(`weft-lab netpol --replay failed (${r.code}): ${r.err}`);
    results = new Map((JSON.parse(r.out) as Result[]).map((c) => [c.name, c]));
    const slow = [...results.values()].flatMap((c) => c.steps.map((s, i) => `${s.ms} ms, ${s.rounds} round(s): ${c.name} step ${i + 1}`)).sort((a, b) => parseInt(b) - parseInt(a));
    process.stderr.write(`upstream netpol replay, slowest steps:\n  ${slow.slice(0, 5).join("\n  ")}\n`);
  }, 900_000);

  it.each(UPSTREAM_CASES.map((c) => [c.name, c] as const))("%s", (name, c) => {
    const result = results.get(name);
    expect(result, "replayed").toBeDefined();
    const steps = c.steps({ ips: () => [] });
    expect(result!.steps.length).toBe(steps.length);
    result!.steps.forEach((s, i) => {
      // Every probe judged on both families, every table as upstream expects.
      expect(s.tables.map((t) => `${t.protocol}/${t.port} IPv${t.family}`).sort()).toEqual(steps[i]!.probes.flatMap((p) => [4, 6].map((f) => `${p.protocol}/${p.port} IPv${f}`)).sort());
      expect(s.tables.flatMap((t) => (t.wrong ?? []).map((w) => `step ${i + 1} ${t.protocol}/${t.port} IPv${t.family}: ${w}`))).toEqual([]);
      expect(s.passed).toBe(true);
    });
  });
});
