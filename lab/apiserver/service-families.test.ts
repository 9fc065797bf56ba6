import { describe, expect, it } from "vitest";
import type { Service } from "../../proxy/model.js";
import { serviceFamilies } from "./service-families.js";

const DUAL = ["IPv4", "IPv6"] as const;
const V4 = ["IPv4"] as const;
const spec = (s: Partial<Service["spec"]> = {}): Service["spec"] => ({ selector: { app: "web" }, ports: [{ port: 80 }], ...s });

describe("a Service's IP families, settled as the API server settles them", () => {
  it("defaults to SingleStack in the cluster's first family; PreferDualStack takes both where the cluster has both, one where it has one", () => {
    expect(serviceFamilies(spec(), undefined, [...DUAL])).toEqual({ policy: "SingleStack", families: ["IPv4"] });
    expect(serviceFamilies(spec(), undefined, ["IPv6", "IPv4"])).toEqual({ policy: "SingleStack", families: ["IPv6"] });
    expect(serviceFamilies(spec({ ipFamilyPolicy: "PreferDualStack" }), undefined, [...DUAL])).toEqual({ policy: "PreferDualStack", families: ["IPv4", "IPv6"] });
    expect(serviceFamilies(spec({ ipFamilyPolicy: "PreferDualStack", ipFamilies: ["IPv6"] }), undefined, [...DUAL])).toEqual({ policy: "PreferDualStack", families: ["IPv6", "IPv4"] });
    expect(serviceFamilies(spec({ ipFamilyPolicy: "PreferDualStack" }), undefined, [...V4])).toEqual({ policy: "PreferDualStack", families: ["IPv4"] });
    expect(serviceFamilies(spec({ ipFamilyPolicy: "RequireDualStack" }), undefined, [...DUAL])).toEqual({ policy: "RequireDualStack", families: ["IPv4", "IPv6"] });
  });

  it("takes the families of the cluster IPs given, and an update without a policy keeps the old one", () => {
    expect(serviceFamilies(spec({ clusterIP: "fd00:10:96::20", ipFamilyPolicy: "PreferDualStack", clusterIPs: ["fd00:10:96::20", "10.96.0.20"] }), undefined, [...DUAL]).families).toEqual(["IPv6", "IPv4"]);
    expect(serviceFamilies(spec(), { ...spec(), ipFamilyPolicy: "PreferDualStack" }, [...DUAL])).toEqual({ policy: "PreferDualStack", families: ["IPv4", "IPv6"] });
  });

  it("refuses what the API server refuses, in its words", () => {
    expect(() => serviceFamilies(spec({ ipFamilyPolicy: "RequireDualStack" }), undefined, [...V4])).toThrow('spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services');
    expect(() => serviceFamilies(spec({ ipFamilies: ["IPv6"] }), undefined, [...V4])).toThrow('spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster');
    expect(() => serviceFamilies(spec({ ipFamilies: ["IPv4", "IPv6"] }), undefined, [...DUAL])).toThrow("must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified");
    expect(() => serviceFamilies(spec({ ipFamilyPolicy: "SingleStack", clusterIPs: ["10.96.0.20", "fd00:10:96::20"] }), undefined, [...DUAL])).toThrow("when multiple cluster IPs are specified");
    expect(() => serviceFamilies(spec({ ipFamilyPolicy: "PreferDualStack", clusterIPs: ["10.96.0.20", "10.96.0.21"] }), undefined, [...DUAL])).toThrow("may specify no more than one IP for each IP family");
    expect(() => serviceFamilies(spec({ clusterIPs: ["fd00:10:96::20"] }), undefined, [...V4])).toThrow('spec.clusterIPs[0]: Invalid value: ["fd00:10:96::20"]: IPv6 is not configured on this cluster');
    expect(() => serviceFamilies(spec({ clusterIP: "10.96.0.20", clusterIPs: ["10.96.0.21"] }), undefined, [...V4])).toThrow("must match `clusterIP`");
  });

  it("lets a headless Service without selector be dual-stack even on a single-stack cluster (nothing to allocate)", () => {
    expect(serviceFamilies({ clusterIP: "None", ports: [{ port: 80 }] }, undefined, [...V4])).toEqual({ policy: "RequireDualStack", families: ["IPv4", "IPv6"] });
    expect(serviceFamilies({ clusterIP: "None", selector: { app: "web" } }, undefined, [...DUAL])).toEqual({ policy: "SingleStack", families: ["IPv4"] });
  });
});
