import { describe, expect, it } from "vitest";
import { masqueradeRules } from "./masquerade.js";

describe("IPv6 masquerade rules", () => {
  it("write the IPv4 rules' IPv6 twins for ip6tables-restore, never masquerading multicast", () => {
    const rules = masqueradeRules("fd00:10:244::/56", "fd00:10:244:3f::/64", { ipMasq: true, missingJumps: { nat: true, filter: true }, family: 6 });
    expect(rules).toContain("-A WEFT-POSTRTG -s fd00:10:244::/56 ! -d ff00::/8 -m comment --comment \"pod to outside\" -j MASQUERADE --random-fully");
    expect(rules).toContain("-A WEFT-FWD -s fd00:10:244::/56 -j ACCEPT");
    expect(() => masqueradeRules("10.244.0.0/16", "10.244.1.0/24", { ipMasq: true, missingJumps: { nat: false, filter: false }, family: 6 })).toThrow(/invalid IPv6 CIDR/);
  });
});

describe("masquerade rules", () => {
  it("keeps pod-to-pod and kube-proxy-marked traffic, masquerades pod to outside, inserts jumps only when missing", () => {
    const text = masqueradeRules("10.244.0.0/16", "10.244.1.0/24", { ipMasq: true, missingJumps: { nat: true, filter: false } });
    expect(text).toContain("-I POSTROUTING 1 -m comment");
    expect(text).not.toContain("-I FORWARD");
    expect(text).toContain("-A WEFT-POSTRTG -m mark --mark 0x4000/0x4000");
    expect(text).toContain("-A WEFT-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment \"pod to outside\" -j MASQUERADE --random-fully");
    expect(text.indexOf("0x4000")).toBeLessThan(text.indexOf("MASQUERADE"));
    expect(masqueradeRules("10.244.0.0/16", "10.244.1.0/24", { ipMasq: false, missingJumps: { nat: false, filter: false } })).not.toContain("MASQUERADE");
  });

  it("refuses values that are not plain CIDRs", () => {
    expect(() => masqueradeRules("10.244.0.0/16 -j ACCEPT", "10.244.1.0/24", { ipMasq: true, missingJumps: { nat: false, filter: false } })).toThrow();
  });
});
