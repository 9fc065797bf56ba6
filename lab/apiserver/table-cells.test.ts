import { describe, expect, it } from "vitest";
import { sampleCluster } from "../../proxy/fixtures.js";
import { endpointSlicesFor } from "./endpoints.js";
import { endpointsColumn, endpointsOf, externalIp, servicePorts } from "./table-cells.js";

describe("the cells kubectl prints", () => {
  const c = sampleCluster();
  const svc = (name: string) => c.services.find((s) => s.metadata.name === name)!;

  it("a Service's ports with node ports, and its external address (pending until allocated, none for ClusterIP)", () => {
    expect(servicePorts(svc("lb-demo"))).toBe("80:31000/TCP");
    expect(externalIp(svc("lb-demo"))).toBe("192.168.56.200");
    expect(externalIp({ ...svc("lb-demo"), status: {} })).toBe("<pending>");
    expect(externalIp(svc("cluster-demo"))).toBe("<none>");
  });

  it("v1 Endpoints list only ready addresses, the not-ready ones apart, and the column shows the ready ones", () => {
    const ep = endpointsOf(svc("cluster-demo"), c.endpointSlices) as { subsets: { addresses?: { ip: string }[]; notReadyAddresses?: { ip: string }[]; ports: { port: number }[] }[] };
    expect(endpointsColumn(ep)).toBe("10.244.1.2:8080,10.244.2.2:8080,10.244.2.3:8080");
    expect(ep.subsets.flatMap((s) => (s.notReadyAddresses ?? []).map((a) => a.ip))).toContain("10.244.2.4");
  });

  it("pods being deleted leave the ready endpoints (their deletionTimestamp makes them not ready)", () => {
    const pods = c.pods.map((p) => (p.status?.podIP === "10.244.1.2" ? { ...p, metadata: { ...p.metadata, deletionTimestamp: new Date().toISOString() } } : p));
    const slices = endpointSlicesFor([svc("cluster-demo")], pods);
    expect(slices.flatMap((s) => s.endpoints.filter((e) => e.conditions.ready).flatMap((e) => e.addresses))).not.toContain("10.244.1.2");
  });
});
