// Drop logging compiled: nothing changes without the annotation; with it every drop rule of the
// direction chains has a log twin just before it (same match, the logged-pods set of the subject side,
// a limit, the group, a prefix that maps back to the rule), and nft accepts the table and the diffs.
import { describe, expect, it } from "vitest";
import { withPolicyCounters } from "../policy-counters.js";
import { compile } from "./compile.js";
import { withDropLogging } from "./drop-log.js";
import { diffRulesets, renderRuleset, type CompiledRuleset } from "./nft-ruleset.js";
import { podIps, upstreamCluster } from "./truth-table.fixture.js";
import type { Cluster } from "./types.js";
import { canNftCheck, nftChecker } from "./nft-check.fixture.js";

const nftCheck = nftChecker();
const canCheck = canNftCheck;

const NS = "kubernetes.io/metadata.name";
const OPTS = { group: 30565, ratePerSecond: 10 };

/** x isolated both ways with one allow; an Admin Deny into x from z; a Baseline Deny into pods c (x/c is on node-1). */
function cluster(logged: string[] = []): Cluster {
  const c = upstreamCluster(
    [
      { metadata: { name: "deny-all", namespace: "x" }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
      { metadata: { name: "a-from-y", namespace: "x" }, spec: { podSelector: { matchLabels: { pod: "a" } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { [NS]: "y" } } }], ports: [{ port: 80 }] }] } },
    ],
    [
      { metadata: { name: "admin-deny-z" }, spec: { tier: "Admin", priority: 10, subject: { namespaces: { matchLabels: { [NS]: "x" } } }, ingress: [{ name: "deny-z", action: "Deny", from: [{ namespaces: { matchLabels: { [NS]: "z" } } }], protocols: [{ tcp: { destinationPort: { number: 81 } } }] }] } },
      { metadata: { name: "baseline-c" }, spec: { tier: "Baseline", priority: 1, subject: { pods: { namespaceSelector: {}, podSelector: { matchLabels: { pod: "c" } } } }, egress: [{ action: "Deny", to: [{ networks: ["192.0.2.0/24"] }] }] } },
    ],
  );
  for (const n of c.namespaces) if (logged.includes(n.name)) n.policyLog = true;
  return c;
}

/** What weftd applies: compile, the per-policy counters, then drop logging. */
const build = (c: Cluster, node = "node-1"): ReturnType<typeof withDropLogging> => withDropLogging(withPolicyCounters(compile(c, node), c), c, node, OPTS);
const rulesOf = (r: CompiledRuleset, chain: string): string[] => r.chains.find((c) => c.name === chain)!.rules;
const LOG = / limit rate 10\/second burst 20 packets log prefix "(weft:[0-9a-f]{10})" group 30565$/;

describe("drop logging in the compiled table", () => {
  it("without the annotation returns the ruleset untouched: the same object, the same bytes", () => {
    const c = cluster();
    const plain = withPolicyCounters(compile(c, "node-1"), c);
    const logged = withDropLogging(plain, c, "node-1", OPTS);
    expect(logged.ruleset).toBe(plain);
    expect(logged.rules.size).toBe(0);
    expect(renderRuleset(logged.ruleset)).toBe(renderRuleset(withPolicyCounters(compile(cluster(), "node-1"), cluster())));
    expect(renderRuleset(logged.ruleset)).not.toMatch(/ log |log-pods/);
  });

  it("puts a twin before every drop of the direction chains, matching what the drop matches plus the subject's logged-pods set", () => {
    const { ruleset, rules } = build(cluster(["x"]));
    let twins = 0;
    // The hook chains' one drop is a flow --policy-strict cut, no policy's verdict: not logged.
    for (const ch of ruleset.chains.filter((c) => !c.hook)) {
      ch.rules.forEach((r, i) => {
        if (!/ drop comment /.test(r)) return expect(r).not.toMatch(/^.* log prefix .* drop/);
        // The twins sit just above their drop, one per family the drop can match.
        const above = ch.rules.slice(0, i).reverse();
        const mine = above.slice(0, above.findIndex((x) => !LOG.test(x)) === -1 ? above.length : above.findIndex((x) => !LOG.test(x)));
        expect(mine.length, `${ch.name}: ${r}`).toBeGreaterThan(0);
        const match = r.replace(/\s*counter( name "[^"]*")? drop comment .*$/, "");
        const field = ch.name.startsWith("ingress") ? "daddr" : "saddr";
        for (const t of mine) expect(t.startsWith(match), t).toBe(true);
        for (const t of mine) expect(t).toMatch(new RegExp(`ip6? ${field} @log-pods-v[46] limit`));
        twins += mine.length;
      });
    }
    // x's egress and ingress isolation (each: a v4 and v6 attribution per policy, and the catch-all for both), the Admin Deny, the Baseline Deny.
    expect(twins).toBeGreaterThanOrEqual(8);
    expect(rulesOf(ruleset, "forward").join("\n")).not.toMatch(/ log /);
    // The logged-pods set holds x's pods on node-1 (x/a and x/c), both families, and no other.
    const v4 = ruleset.sets.find((s) => s.name === "log-pods-v4")!;
    expect(v4.elements).toEqual([podIps("x", "a")[0], podIps("x", "c")[0]].sort());
    expect(ruleset.sets.find((s) => s.name === "log-pods-v6")!.elements).toContain(podIps("x", "a")[1]);
    // Each prefix names its rule.
    const infos = [...rules.values()];
    // NetworkPolicy isolation is attributed as the counters attribute it: to the first policy (by name) isolating the pod.
    expect(infos).toContainEqual(expect.objectContaining({ direction: "ingress", tier: "NetworkPolicy", policy: "x/a-from-y" }));
    expect(infos).toContainEqual(expect.objectContaining({ direction: "egress", tier: "NetworkPolicy", policy: "x/deny-all" }));
    expect(infos).toContainEqual({ direction: "ingress", tier: "Admin", policy: "admin-deny-z", rule: "deny-z", reason: "Admin tier: ClusterNetworkPolicy admin-deny-z rule deny-z denies" });
    expect(infos).toContainEqual(expect.objectContaining({ direction: "egress", tier: "Baseline", policy: "baseline-c", rule: "egress[0]" }));
    expect(infos).toContainEqual({ direction: "ingress", tier: "NetworkPolicy", reason: "isolated by a NetworkPolicy, no rule allows" });
    for (const r of ruleset.chains.flatMap((c) => c.rules)) {
      const id = LOG.exec(r)?.[1];
      if (id) expect(rules.has(id), id).toBe(true);
    }
    if (canCheck) nftCheck(renderRuleset(ruleset), "logged.nft");
  });

  it("keeps a rule's prefix across recompiles, and a pod joining the annotated namespace is one element", () => {
    const before = build(cluster(["x"]));
    const changed = cluster(["x"]);
    changed.pods.push({ namespace: "x", name: "d", labels: { pod: "d" }, ips: ["10.244.1.20", "fd00:10:244:1::20"], node: "node-1", ports: [] });
    const after = build(changed);
    expect([...after.rules.keys()].sort()).toEqual([...before.rules.keys()].sort());
    const diff = diffRulesets(before.ruleset, after.ruleset);
    expect(diff).toMatch(/add element inet weft-policy log-pods-v4 \{ 10\.244\.1\.20 \}/);
    for (const line of diff.trim().split("\n")) expect(line).toMatch(/^(add|delete) element /);
    if (canCheck) nftCheck(renderRuleset(before.ruleset) + diff, "logged-pod-change.nft");
  });

  it("annotating and un-annotating diff into and out of the plain table in valid transactions", () => {
    const plain = build(cluster()).ruleset;
    const logged = build(cluster(["y"])).ruleset;
    // y is not isolated and no Deny selects it: its pods are in the set, the twins are there all the same.
    expect(logged.sets.find((s) => s.name === "log-pods-v4")!.elements).toEqual([podIps("y", "b")[0]]);
    const on = diffRulesets(plain, logged);
    const off = diffRulesets(logged, plain);
    expect(on).toContain("add set inet weft-policy log-pods-v4");
    expect(off).toContain("delete set inet weft-policy log-pods-v6");
    expect(off).not.toMatch(/ log prefix /);
    if (canCheck) nftCheck(renderRuleset(plain) + on + off, "toggle.nft");
  });

  it("egress drops log by the source: the twin of an egress chain matches saddr", () => {
    const { ruleset } = build(cluster(["x"]));
    const egress = rulesOf(ruleset, "egress-isolated").filter((r) => LOG.test(r));
    expect(egress.length).toBeGreaterThan(0);
    for (const r of egress) expect(r).toMatch(/ip6? saddr @log-pods-v[46] /);
  });
});
