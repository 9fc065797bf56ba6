import { describe, expect, it } from "vitest";
import { buildZone, lookup } from "./dns-records.js";
import { sampleCluster } from "./fixtures.js";
import type { ClusterState, EndpointSlice } from "./model.js";

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

describe("cluster DNS records for IPv6 and dual-stack", () => {
  const rec = (name: string, type: string, data: unknown) => ({ name, type, ttl: 5, data });
  const slice = (service: string, addressType: "IPv4" | "IPv6", eps: [string, boolean, string?][]): EndpointSlice => ({
    metadata: { name: `${service}-${addressType}`, namespace: "default", labels: { "kubernetes.io/service-name": service } },
    addressType,
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    endpoints: eps.map(([ip, ready, hostname]) => ({ addresses: [ip], conditions: { ready }, ...(hostname ? { hostname } : {}) })),
  });
  const state: ClusterState = {
    services: [
      { metadata: { name: "dual", namespace: "default" }, spec: { clusterIP: "10.96.0.30", clusterIPs: ["10.96.0.30", "fd00:96::30"], ipFamilies: ["IPv4", "IPv6"], ipFamilyPolicy: "RequireDualStack", ports: [{ name: "http", protocol: "TCP", port: 80 }] } },
      { metadata: { name: "v6only", namespace: "default" }, spec: { clusterIP: "FD00:96:0:0:0:0:0:0031", clusterIPs: ["FD00:96:0:0:0:0:0:0031"], ipFamilies: ["IPv6"], ipFamilyPolicy: "SingleStack" } },
      { metadata: { name: "web", namespace: "default" }, spec: { clusterIP: "None", clusterIPs: ["None"], ipFamilies: ["IPv4", "IPv6"], ports: [{ name: "http", protocol: "TCP", port: 80 }] } },
    ],
    endpointSlices: [
      slice("web", "IPv4", [["10.244.1.5", true, "web-0"], ["10.244.2.7", true], ["10.244.2.8", false, "web-2"]]),
      slice("web", "IPv6", [["fd00:10:244:1::5", true, "web-0"], ["fd00:10:244:2::7", true], ["fd00:10:244:2::8", false, "web-2"]]),
    ],
    pods: [{ metadata: { name: "p", namespace: "team" }, spec: { containers: [] }, status: { podIP: "10.244.1.9", podIPs: [{ ip: "10.244.1.9" }, { ip: "fd00:10:244:1::9" }] } }],
    nodes: [],
  };
  const zone = buildZone(state);
  const DUAL = "dual.default.svc.cluster.local";
  const WEB = "web.default.svc.cluster.local";
  // fd00:96::30 and fd00:96::31, nibble by nibble from the last (RFC 3596 §2.5).
  const PTR_30 = `0.3.0.0.${"0.".repeat(20)}6.9.0.0.0.0.d.f.ip6.arpa`;
  const PTR_31 = `1.3.0.0.${"0.".repeat(20)}6.9.0.0.0.0.d.f.ip6.arpa`;

  it("answers A with a dual-stack service's IPv4 cluster IP and AAAA with its IPv6 one, SRV once, and both reverse names", () => {
    expect(lookup(zone, DUAL, "A")).toEqual({ rcode: "NOERROR", answers: [rec(DUAL, "A", "10.96.0.30")] });
    expect(lookup(zone, DUAL, "AAAA")).toEqual({ rcode: "NOERROR", answers: [rec(DUAL, "AAAA", "fd00:96::30")] });
    expect(lookup(zone, `_http._tcp.${DUAL}`, "SRV").answers).toEqual([rec(`_http._tcp.${DUAL}`, "SRV", { priority: 0, weight: 100, port: 80, target: DUAL })]);
    expect(lookup(zone, "30.0.96.10.in-addr.arpa", "PTR").answers).toEqual([rec("30.0.96.10.in-addr.arpa", "PTR", DUAL)]);
    expect(lookup(zone, `${PTR_30}.`, "PTR").answers).toEqual([rec(PTR_30, "PTR", DUAL)]);
  });

  it("gives an IPv6-only service AAAA alone (its RFC 5952 text), NOERROR without answers for A, and its PTR", () => {
    const name = "v6only.default.svc.cluster.local";
    expect(lookup(zone, name, "AAAA")).toEqual({ rcode: "NOERROR", answers: [rec(name, "AAAA", "fd00:96::31")] });
    expect(lookup(zone, name, "A")).toEqual({ rcode: "NOERROR", answers: [] });
    expect(lookup(zone, PTR_31, "PTR").answers).toEqual([rec(PTR_31, "PTR", name)]);
  });

  it("answers a headless service with one A per ready IPv4 endpoint and one AAAA per ready IPv6 endpoint, per hostname and per address name", () => {
    expect(lookup(zone, WEB, "A").answers).toEqual([rec(WEB, "A", "10.244.1.5"), rec(WEB, "A", "10.244.2.7")]);
    expect(lookup(zone, WEB, "AAAA").answers).toEqual([rec(WEB, "AAAA", "fd00:10:244:1::5"), rec(WEB, "AAAA", "fd00:10:244:2::7")]);
    expect(lookup(zone, `web-0.${WEB}`, "ANY").answers).toEqual([rec(`web-0.${WEB}`, "A", "10.244.1.5"), rec(`web-0.${WEB}`, "AAAA", "fd00:10:244:1::5")]);
    expect(lookup(zone, `fd00-10-244-2--7.${WEB}`, "ANY").answers).toEqual([rec(`fd00-10-244-2--7.${WEB}`, "AAAA", "fd00:10:244:2::7")]);
    expect(lookup(zone, `web-2.${WEB}`, "AAAA").rcode).toBe("NXDOMAIN");
    expect(lookup(zone, `_http._tcp.${WEB}`, "SRV").answers.map((a) => a.data)).toEqual([
      { priority: 0, weight: 100, port: 8080, target: `web-0.${WEB}` },
      { priority: 0, weight: 100, port: 8080, target: `10-244-2-7.${WEB}` },
      { priority: 0, weight: 100, port: 8080, target: `fd00-10-244-2--7.${WEB}` },
    ]);
    const web0Ptr = `5.0.0.0.${"0.".repeat(12)}1.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa`;
    expect(lookup(zone, web0Ptr, "PTR").answers).toEqual([rec(web0Ptr, "PTR", `web-0.${WEB}`)]);
  });

  it("names a pod's IPv6 address with each ':' as '-', answering AAAA there and A on its IPv4 name, with a PTR for each", () => {
    const v6 = "fd00-10-244-1--9.team.pod.cluster.local";
    expect(lookup(zone, v6, "AAAA")).toEqual({ rcode: "NOERROR", answers: [rec(v6, "AAAA", "fd00:10:244:1::9")] });
    expect(lookup(zone, v6, "A")).toEqual({ rcode: "NOERROR", answers: [] });
    expect(lookup(zone, "10-244-1-9.team.pod.cluster.local", "A").answers).toEqual([rec("10-244-1-9.team.pod.cluster.local", "A", "10.244.1.9")]);
    const ptr = `9.0.0.0.${"0.".repeat(12)}1.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa`;
    expect(lookup(zone, ptr, "PTR").answers).toEqual([rec(ptr, "PTR", v6)]);
  });
});
