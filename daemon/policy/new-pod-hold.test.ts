// The new-pod hold compiled: sets with a timeout and drop rules right after the hook chains' accepts,
// nothing at all when the hold is off, and release lines nft takes in one transaction with a diff.
import { describe, expect, it } from "vitest";
import { compile, CUT_FLOW_DROP } from "./compile.js";
import { canNftCheck, nftChecker } from "./nft-check.fixture.js";
import { diffRulesets, renderRuleset } from "./nft-ruleset.js";
import { elementsScript } from "../policy-elements.js";
import { NEW_POD_SET, releaseChanges, withNewPodHold } from "./new-pod-hold.js";
import { upstreamCluster } from "./truth-table.fixture.js";

const nftCheck = nftChecker();

describe("the new-pod hold", () => {
  const base = compile(upstreamCluster(), "node-1");

  it("off: the ruleset is the same object", () => {
    expect(withNewPodHold(base, 0)).toBe(base);
  });

  it("declares both families' sets with the timeout and drops held addresses both ways after the unconditional verdicts of forward and input (cut flows, established flows, neighbour discovery)", () => {
    const held = withNewPodHold(base, 1000);
    expect(held.sets.filter((s) => s.name.startsWith("new-pods-")).map((s) => [s.name, s.timeoutMs, s.elements])).toEqual([
      [NEW_POD_SET(4), 1000, []],
      [NEW_POD_SET(6), 1000, []],
    ]);
    for (const name of ["forward", "input"]) {
      const rules = held.chains.find((c) => c.name === name)!.rules;
      expect(rules.slice(0, 3)).toEqual(base.chains.find((c) => c.name === name)!.rules.slice(0, 3));
      expect(rules[0]).toBe(CUT_FLOW_DROP);
      expect(rules.slice(3, 7)).toEqual([
        'ip saddr @new-pods-v4 counter drop comment "a new pod weftd has not judged yet"',
        'ip daddr @new-pods-v4 counter drop comment "a new pod weftd has not judged yet"',
        'ip6 saddr @new-pods-v6 counter drop comment "a new pod weftd has not judged yet"',
        'ip6 daddr @new-pods-v6 counter drop comment "a new pod weftd has not judged yet"',
      ]);
    }
    // Chains that are not hooks are untouched.
    expect(held.chains.filter((c) => !c.hook)).toEqual(base.chains.filter((c) => !c.hook));
    expect(renderRuleset(held)).toMatch(/set new-pods-v4 \{ type ipv4_addr; flags timeout; timeout 1000ms;/);
  });

  it.runIf(canNftCheck)("nft takes the table, and a diff with releases (add then delete) in one transaction", () => {
    const before = withNewPodHold(base, 1000);
    nftCheck(renderRuleset(before), "held.nft");
    const cluster = upstreamCluster();
    cluster.pods.push({ namespace: "x", name: "new", labels: { pod: "new" }, ips: ["10.244.1.99", "fd00:10:244:1::99"], node: "node-1", ports: [] });
    const after = withNewPodHold(compile(cluster, "node-1"), 1000);
    const script = renderRuleset(before) + diffRulesets(before, after) + elementsScript(releaseChanges(["10.244.1.99", "fd00:10:244:1::99"]));
    nftCheck(script, "release.nft");
    // Changing the timeout recreates the set.
    expect(diffRulesets(before, withNewPodHold(base, 2000))).toMatch(/delete set inet weft-policy new-pods-v4\nadd set inet weft-policy new-pods-v4 \{ type ipv4_addr; flags timeout; timeout 2000ms;/);
  });
});
