// The upstream NetworkPolicy e2e cases (kubernetes test/e2e/network/netpol/network_policy.go),
// replayed as truth tables against `evaluate`: each case builds the same policies, on the same
// pods, and expects the table upstream derives for them, over all nine pods of the model, on both
// families' addresses. Multi-step cases replay every step. The same catalogue runs with real traffic
// in the lab (test/e2e/lab-netpol-upstream.test.ts).
import { describe, expect, it } from "vitest";
import { ALL_PODS, compareTruthTable, podIps, Reachability, upstreamCluster } from "./truth-table.fixture.js";
import { UPSTREAM_CASES } from "./upstream-netpol-cases.fixture.js";

describe("upstream NetworkPolicy e2e cases", () => {
  it("has every case of the suite's TCP context and its UDP and SCTP variants", () => {
    expect(UPSTREAM_CASES.length).toBe(48);
    expect(new Set(UPSTREAM_CASES.map((c) => c.name)).size).toBe(UPSTREAM_CASES.length);
  });

  it.each(UPSTREAM_CASES.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const cluster = upstreamCluster();
    const steps = c.steps({ ips: (pod) => podIps(...(pod.split("/") as [string, string])) });
    steps.forEach((step, i) => {
      cluster.networkPolicies = step.policies;
      for (const [ns, labels] of Object.entries(step.namespaceLabels ?? {})) Object.assign(cluster.namespaces.find((n) => n.name === ns)!.labels, labels);
      for (const [key, labels] of Object.entries(step.podLabels ?? {})) Object.assign(cluster.pods.find((p) => `${p.namespace}/${p.name}` === key)!.labels, labels);
      for (const p of step.probes) {
        const { wrong, table } = compareTruthTable(cluster, p.want(new Reachability(ALL_PODS, true)), p.protocol, p.port);
        expect(wrong, `step ${i + 1}, ${p.protocol}/${p.port}\n${table}`).toEqual([]);
      }
    });
  });
});
