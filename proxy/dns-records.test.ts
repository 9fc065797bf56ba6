import { describe, expect, it } from "vitest";
import { buildZone, lookup } from "./dns-records.js";
import { sampleCluster } from "./fixtures.js";

describe("cluster DNS records (Kubernetes DNS specification)", () => {
  const state = sampleCluster();
  state.pods = [{ metadata: { name: "p", namespace: "default" }, spec: { containers: [] }, status: { podIP: "10.244.1.9" } }];
  const zone = buildZone(state);

  it("answers a service's cluster IP, its named ports as SRV, and the reverse name", () => {
    expect(lookup(zone, "cluster-demo.default.svc.cluster.local.", "A")).toEqual({ rcode: "NOERROR", answers: [expect.objectContaining({ type: "A", data: "10.96.0.20" })] });
    expect(lookup(zone, "_http._tcp.cluster-demo.default.svc.cluster.local", "SRV").answers[0]?.data).toEqual({ priority: 0, weight: 100, port: 80, target: "cluster-demo.default.svc.cluster.local" });
    expect(lookup(zone, "20.0.96.10.in-addr.arpa", "PTR").answers[0]?.data).toBe("cluster-demo.default.svc.cluster.local");
  });

  it("answers a headless service with its ready endpoints only, and each hostname", () => {
    expect(lookup(zone, "headless-demo.default.svc.cluster.local", "A").answers.map((a) => a.data).sort()).toEqual(["10.244.1.5", "10.244.2.5"]);
    expect(lookup(zone, "web-1.headless-demo.default.svc.cluster.local", "A").answers[0]?.data).toBe("10.244.2.5");
    expect(lookup(zone, "web-2.headless-demo.default.svc.cluster.local", "A").rcode).toBe("NXDOMAIN");
    expect(lookup(zone, "_http._tcp.headless-demo.default.svc.cluster.local", "SRV").answers).toHaveLength(2);
  });

  it("gives ExternalName as a CNAME, pods as a-b-c-d.<ns>.pod, and NOERROR without data for a name with other types", () => {
    expect(lookup(zone, "external.default.svc.cluster.local", "A").answers[0]).toMatchObject({ type: "CNAME", data: "example.org" });
    expect(lookup(zone, "10-244-1-9.default.pod.cluster.local", "A").answers[0]?.data).toBe("10.244.1.9");
    expect(lookup(zone, "cluster-demo.default.svc.cluster.local", "AAAA")).toEqual({ rcode: "NOERROR", answers: [] });
    expect(lookup(zone, "default.svc.cluster.local", "A")).toEqual({ rcode: "NOERROR", answers: [] });
    expect(lookup(zone, "nope.default.svc.cluster.local", "A").rcode).toBe("NXDOMAIN");
    expect(lookup(zone, "example.org", "A").rcode).toBe("NXDOMAIN");
  });
});
