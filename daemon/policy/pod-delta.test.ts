// pod-delta: a change of pods or namespace labels applied as set elements to the last compiled table
// equals a compile of the changed cluster (the property, over random clusters and changes); anything
// else is left to a compile.
import { describe, expect, it } from "vitest";
import { withPolicyCounters } from "../policy-counters.js";
import { compile } from "./compile.js";
import { withDropLogging } from "./drop-log.js";
import { isolatesFor, networkPoliciesIsolating } from "./network-policy-tier.js";
import { diffRulesets, type CompiledRuleset } from "./nft-ruleset.js";
import { podDelta } from "./pod-delta.js";
import { changePods, Gen, random, randomCluster } from "./random-cluster.fixture.js";
import type { Cluster } from "./types.js";

const NODE = "node-1";
/** What the kernel holds of a table: names, types and elements of its sets, its chains and their rules (comments aside: a diff never rewrites them). */
const held = (c: CompiledRuleset): unknown => ({ sets: c.sets.map((s) => [s.name, s.type, s.elements]), chains: c.chains, counters: c.counters });

function expectElementsOnly(before: Cluster, after: Cluster, seed: number): number {
  const applied = compile(before, NODE);
  const delta = podDelta(before, after, applied);
  if (delta.kind !== "elements") throw new Error(`seed ${seed}: recompile (${delta.reason})`);
  const full = compile(after, NODE);
  expect(held(delta.next), `seed ${seed}`).toEqual(held(full));
  expect(diffRulesets(delta.next, full), `seed ${seed}`).toBe("");
  // The changes are what moves the kernel: every removal is there, every addition is not yet.
  const sets = new Map(applied.sets.map((s) => [s.name, new Set(s.elements)]));
  for (const ch of delta.changes) {
    const had = sets.get(ch.set)!;
    for (const e of ch.remove) expect(had.has(e), `seed ${seed}: ${ch.set} ${e}`).toBe(true);
    for (const e of ch.add) expect(had.has(e), `seed ${seed}: ${ch.set} ${e}`).toBe(false);
    expect([...[...had].filter((e) => !ch.remove.includes(e)), ...ch.add].sort()).toEqual(full.sets.find((s) => s.name === ch.set)!.elements);
  }
  return delta.changes.length;
}

describe("podDelta", () => {
  it("equals a full compile for random clusters and random pod and namespace changes (400 cases)", () => {
    let moved = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const g = new Gen(random(seed));
      const before = randomCluster(g);
      const after = changePods(g, before);
      moved += expectElementsOnly(before, after, seed);
      // And from there, a second change: the result of a delta is what the next one starts from.
      expectElementsOnly(after, changePods(g, after), seed);
    }
    expect(moved).toBeGreaterThan(200); // the cases moved elements, not only nothing
  });

  it("equals a full compile decorated as weftd applies it (named counters, drop logging of annotated namespaces)", () => {
    const decorated = (c: Cluster): CompiledRuleset => withDropLogging(withPolicyCounters(compile(c, NODE), c), c, NODE, { group: 5, ratePerSecond: 10 }).ruleset;
    let moved = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const g = new Gen(random(seed));
      const before = randomCluster(g);
      for (const n of before.namespaces) if (g.chance(0.5)) n.policyLog = true;
      const after = changePods(g, before);
      const delta = podDelta(before, after, decorated(before));
      // A namespace with the annotation going or coming changes rules; a relabelled namespace may hold a quarter of the pods.
      if (delta.kind !== "elements") {
        expect(delta.reason, `seed ${seed}`).toMatch(/besides its labels|pods changed/);
        continue;
      }
      expect(held(delta.next), `seed ${seed}`).toEqual(held(decorated(after)));
      moved += delta.changes.filter((ch) => ch.set.startsWith("log-pods-")).length;
    }
    expect(moved).toBeGreaterThan(20);
  });

  it("holds across a chain of changes applied to its own results, as weftd applies them", () => {
    const g = new Gen(random(42));
    let cluster = randomCluster(g);
    let applied = compile(cluster, NODE);
    for (let i = 0; i < 200; i++) {
      const next = changePods(g, cluster);
      const delta = podDelta(cluster, next, applied);
      if (delta.kind !== "elements") throw new Error(`step ${i}: ${delta.reason}`);
      expect(diffRulesets(delta.next, compile(next, NODE)), `step ${i}`).toBe("");
      [cluster, applied] = [next, delta.next];
    }
  });

  it("keeps an address two pods share while one of them still holds it", () => {
    const pod = (name: string, app: string) => ({ namespace: "x", name, labels: { app }, ips: ["10.244.1.5"], node: NODE, ports: [] });
    const before: Cluster = {
      namespaces: [{ name: "x", labels: { "kubernetes.io/metadata.name": "x" } }],
      pods: [pod("old", "web"), pod("new", "web")],
      nodes: [],
      networkPolicies: [{ metadata: { name: "from-web", namespace: "x" }, spec: { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }] } }],
      clusterNetworkPolicies: [],
    };
    const after = structuredClone(before);
    after.pods[0]!.labels.app = "db";
    const delta = podDelta(before, after, compile(before, NODE));
    expect(delta).toMatchObject({ kind: "elements", changes: [] });
    after.pods[1]!.labels.app = "db";
    expect(podDelta(before, after, compile(before, NODE))).toMatchObject({ kind: "elements", changes: [{ remove: ["10.244.1.5"], add: [] }] });
  });

  it("leaves policy, node and unknown changes to a compile", () => {
    const g = new Gen(random(7));
    const before = randomCluster(g);
    const applied = compile(before, NODE);
    const policy = structuredClone(before);
    policy.networkPolicies.push({ metadata: { name: "new", namespace: "ns0" }, spec: { podSelector: {} } });
    expect(podDelta(before, policy, applied)).toEqual({ kind: "recompile", reason: "policies changed" });
    const node = structuredClone(before);
    node.nodes[0]!.labels.zone = "b";
    expect(podDelta(before, node, applied)).toEqual({ kind: "recompile", reason: "nodes changed" });
    const unknown = structuredClone(before);
    (unknown.pods[0] as unknown as Record<string, unknown>).annotations = { "weft.dev/x": "1" };
    expect(podDelta(before, unknown, applied)).toMatchObject({ kind: "recompile", reason: expect.stringMatching(/field annotations/) });
    const ns = structuredClone(before);
    (ns.namespaces[0] as unknown as Record<string, unknown>).annotations = { "weft.dev/policy-log": "all" };
    expect(podDelta(before, ns, applied)).toMatchObject({ kind: "recompile", reason: expect.stringMatching(/besides its labels/) });
    const decorated = { ...applied, sets: [...applied.sets, { name: "extra", type: "ipv4_addr", comment: "", elements: [] }] };
    expect(podDelta(before, structuredClone(before), decorated)).toMatchObject({ kind: "recompile", reason: "set extra has no source to re-test pods against" });
  });

  it("answers no change for an unchanged cluster", () => {
    const before = randomCluster(new Gen(random(3)));
    expect(podDelta(before, structuredClone(before), compile(before, NODE))).toMatchObject({ kind: "elements", changes: [], pods: 0 });
  });
});

describe("isolatesFor (the isolated-<direction> sets' test, shared by compile and pod-delta)", () => {
  it("says what networkPoliciesIsolating says, for random clusters", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const c = randomCluster(new Gen(random(seed)));
      for (const d of ["ingress", "egress"] as const) {
        const isolates = isolatesFor(c.networkPolicies, d);
        for (const p of c.pods) expect(isolates(p), `seed ${seed} ${d} ${p.namespace}/${p.name}`).toBe(networkPoliciesIsolating(c.networkPolicies, d, p).length > 0);
      }
    }
  });
});
