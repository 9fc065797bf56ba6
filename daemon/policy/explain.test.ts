// explain names the policies on each side and the rule behind the verdict, as JSON and as text.
import { describe, expect, it } from "vitest";
import { explain, explanationText } from "./explain.js";
import { upstreamCluster } from "./truth-table.fixture.js";

describe("explain", () => {
  const cluster = upstreamCluster(
    [
      { metadata: { name: "deny-egress", namespace: "x" }, spec: { podSelector: {}, policyTypes: ["Egress"] } },
      { metadata: { name: "a-from-y", namespace: "z" }, spec: { podSelector: { matchLabels: { pod: "a" } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: "y" } } }] }] } },
    ],
    [{ metadata: { name: "pass-y" }, spec: { tier: "Admin", priority: 5, subject: { namespaces: { matchLabels: { ns: "z" } } }, ingress: [{ name: "pass-from-y", action: "Pass", from: [{ namespaces: { matchLabels: { ns: "y" } } }] }] } }],
  );

  it("names the isolating policies and the denying side", () => {
    const e = explain(cluster, { from: { pod: "x/a" }, to: { pod: "z/a" }, protocol: "TCP", port: 80 });
    expect(e.source.networkPolicies).toEqual(["x/deny-egress"]);
    expect(e.destination).toMatchObject({ admin: ["pass-y (priority 5)"], networkPolicies: ["z/a-from-y"] });
    expect(e.verdict).toMatchObject({ allowed: false, deniedBy: "egress", egress: { tier: "NetworkPolicy", policy: "x/deny-egress" } });
    const text = explanationText(e);
    expect(text).toContain("source: pod x/a (10.244.1.10)");
    expect(text).toContain("verdict: DENY (egress)");
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
  });

  it("shows the Admin pass and the NetworkPolicy rule that allowed it", () => {
    const text = explanationText(explain(cluster, { from: { pod: "y/b" }, to: { pod: "z/a" }, protocol: "UDP", port: 81 }));
    expect(text).toContain("ingress: allowed by NetworkPolicy z/a-from-y rule ingress[0] (after Admin pass-y rule pass-from-y passed it)");
    expect(text).toContain("verdict: ALLOW");
  });
});
