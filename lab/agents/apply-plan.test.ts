import { describe, expect, it } from "vitest";
import { allocateClusterIp, allocateNodePort, AllocationError } from "../apiserver/allocators.js";
import { emptyApi } from "../apiserver/api-store.js";
import { planApply, planDelete } from "./apply-plan.js";
import { endpointSlicesFor } from "../apiserver/endpoints.js";
import { endpointsOf } from "../apiserver/kubectl-print.js";
import type { Manifest } from "../apiserver/manifests.js";

const deployment = (replicas: number, image = "hello"): Manifest => ({
  kind: "Deployment",
  obj: { kind: "Deployment", metadata: { name: "web" }, spec: { replicas, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image, ports: [{ name: "http", containerPort: 8080 }] }] } } } },
});
const service = (extra: Record<string, unknown> = {}): Manifest => ({ kind: "Service", obj: { apiVersion: "v1", kind: "Service", metadata: { name: "web" }, spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: "http" }], ...extra } } });

describe("apply plan", () => {
  it("creates a Deployment's pods and allocates a cluster IP in the service CIDR", () => {
    const plan = planApply(emptyApi("10.96.0.0/12", ["192.168.56.200", "192.168.56.201"]), [deployment(3), service({ type: "NodePort" })]);
    expect(plan.createPods.map((p) => p.metadata.name)).toEqual([expect.stringMatching(/^web-[0-9a-f]{10}-[a-z0-9]{5}$/), expect.any(String), expect.any(String)]);
    expect(plan.services[0]?.spec.clusterIP).toMatch(/^10\.(9[6-9]|10\d|11[01])\.\d+\.\d+$/);
    expect(plan.services[0]?.spec.ports?.[0]?.nodePort).toBeGreaterThanOrEqual(30000);
    expect(plan.report).toEqual(["deployment.apps/web created", "service/web created"]);
  });

  it("scales without touching the pods it keeps, and replaces pods when the template changes", () => {
    const api = emptyApi("10.96.0.0/12", ["192.168.56.200", "192.168.56.201"]);
    api.pods = planApply(api, [deployment(3)]).createPods;
    api.workloads = [deployment(3).obj as never];
    const down = planApply(api, [deployment(2)]);
    expect(down.createPods).toHaveLength(0);
    expect(down.deletePods).toHaveLength(1);
    expect(down.report).toEqual(["deployment.apps/web configured"]);
    const changed = planApply(api, [deployment(3, "other")]);
    expect(changed.deletePods).toHaveLength(3);
    expect(changed.createPods).toHaveLength(3);
    expect(planDelete(api, [deployment(3)]).deletePods).toHaveLength(3);
  });

  it("allocates above the static bands (KEP-3070, KEP-3668), so ports and IPs that manifests name do not race automatic ones", () => {
    const ports = Array.from({ length: 500 }, (_, i) => allocateNodePort(new Set(), undefined, "p", () => i / 500));
    expect(Math.min(...ports)).toBeGreaterThan(30085);
    const upperFull = new Set(Array.from({ length: 32767 - 30086 + 1 }, (_, i) => 30086 + i));
    expect(allocateNodePort(upperFull, undefined, "p")).toBe(30000);
    const ips = Array.from({ length: 200 }, (_, i) => allocateClusterIp("10.96.0.0/12", new Set(), undefined, "ip", () => i / 200));
    expect(ips.every((ip) => !ip.startsWith("10.96.0.") && !ip.endsWith(".0"))).toBe(true);
  });

  it("refuses a cluster IP out of range or taken, a node port out of range or taken, with the API server's words", () => {
    expect(() => allocateClusterIp("10.96.0.0/12", new Set(), "10.0.0.1")).toThrow(/provided IP is not in the valid range\. The range of valid IPs is 10\.96\.0\.0\/12/);
    expect(() => allocateClusterIp("10.96.0.0/12", new Set(["10.96.0.10"]), "10.96.0.10")).toThrow(/provided IP is already allocated/);
    expect(() => allocateNodePort(new Set(), 80, "spec.ports[0].nodePort")).toThrow(AllocationError);
    expect(() => allocateNodePort(new Set([30070]), 30070, "spec.ports[0].nodePort")).toThrow(/30070: provided port is already allocated/);
    const api = emptyApi("10.96.0.0/12", ["192.168.56.200", "192.168.56.201"]);
    const first = planApply(api, [service({ type: "LoadBalancer" })]);
    expect(first.services[0]?.status?.loadBalancer?.ingress).toEqual([{ ip: "192.168.56.200" }]);
  });

  it("resolves named target ports per pod, leaves unready pods out unless publishNotReadyAddresses", () => {
    const api = emptyApi("10.96.0.0/12", ["192.168.56.200", "192.168.56.201"]);
    const pods = planApply(api, [deployment(2)]).createPods;
    pods[0]!.status = { podIP: "10.244.1.2", conditions: [{ type: "Ready", status: "True" }] };
    pods[1]!.status = { podIP: "10.244.2.2", conditions: [{ type: "Ready", status: "False" }] };
    const svc = planApply(api, [service()]).services[0]!;
    const [slice] = endpointSlicesFor([svc], pods);
    expect(slice?.ports).toEqual([{ port: 8080, protocol: "TCP" }]);
    expect(slice?.endpoints.map((e) => e.addresses[0])).toEqual(["10.244.1.2"]);
    const all = endpointSlicesFor([{ ...svc, spec: { ...svc.spec, publishNotReadyAddresses: true } }], pods);
    expect(all[0]?.endpoints).toHaveLength(2);
  });

  it("gives a dual-stack Service an address of each family from its family's range, keeps them on a re-apply, and an IPv6 LoadBalancer address from the IPv6 pool", () => {
    const api = emptyApi("10.96.0.0/12,fd00:10:96::/112", ["192.168.56.200", "192.168.56.201"], ["fd00:56::200", "fd00:56::201"]);
    const svc = planApply(api, [service({ type: "LoadBalancer", ipFamilyPolicy: "PreferDualStack" })]).services[0]!;
    expect(svc.spec.ipFamilies).toEqual(["IPv4", "IPv6"]);
    expect(svc.spec.clusterIPs).toEqual([expect.stringMatching(/^10\.(9[6-9]|10\d|11[01])\./), expect.stringMatching(/^fd00:10:96::[0-9a-f]{1,4}$/)]);
    expect(svc.spec.clusterIP).toBe(svc.spec.clusterIPs?.[0]);
    expect(svc.status?.loadBalancer?.ingress).toEqual([{ ip: "192.168.56.200" }, { ip: "fd00:56::200" }]);
    api.services = [svc];
    const again = planApply(api, [service({ type: "LoadBalancer", ipFamilyPolicy: "PreferDualStack" })]);
    expect(again.services[0]?.spec.clusterIPs).toEqual(svc.spec.clusterIPs);
    expect(again.report).toEqual(["service/web unchanged"]);
    // Requested IPv6 addresses: written back in their one spelling, refused out of range or taken.
    expect(allocateClusterIp("fd00:10:96::/112", new Set(), "FD00:10:96:0::0a")).toBe("fd00:10:96::a");
    expect(() => allocateClusterIp("fd00:10:96::/112", new Set(), "fd00:10:97::a")).toThrow(/not in the valid range\. The range of valid IPs is fd00:10:96::\/112/);
    expect(() => allocateClusterIp("fd00:10:96::/112", new Set(["fd00:10:96::a"]), "fd00:10:96::a")).toThrow(/already allocated/);
    expect(() => allocateClusterIp("fd00:10:96::/112", new Set(), "10.96.0.10")).toThrow(/not in the valid range/);
  });

  it("refuses RequireDualStack on a single-stack cluster, naming the Service", () => {
    const api = emptyApi("10.96.0.0/12", ["192.168.56.200", "192.168.56.201"]);
    expect(() => planApply(api, [service({ ipFamilyPolicy: "RequireDualStack" })])).toThrow('Service "web" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services');
  });

  it("makes one set of EndpointSlices per family of the Service, each with the pods' addresses of that family; v1 Endpoints show the first family", () => {
    const api = emptyApi("10.96.0.0/12,fd00:10:96::/112", ["192.168.56.200", "192.168.56.201"]);
    const pods = planApply(api, [deployment(2)]).createPods;
    pods[0]!.status = { podIP: "10.244.1.2", podIPs: [{ ip: "10.244.1.2" }, { ip: "fd00:10:244:1::2" }], conditions: [{ type: "Ready", status: "True" }] };
    pods[1]!.status = { podIP: "10.244.2.2", podIPs: [{ ip: "10.244.2.2" }, { ip: "fd00:10:244:2::2" }], conditions: [{ type: "Ready", status: "True" }] };
    const single = planApply(api, [service()]).services[0]!;
    const dual = planApply(api, [service({ ipFamilyPolicy: "RequireDualStack", ipFamilies: ["IPv6", "IPv4"] })]).services[0]!;
    const singleSlices = endpointSlicesFor([single], pods);
    expect(singleSlices.map((s) => [s.addressType, s.endpoints.map((e) => e.addresses[0])])).toEqual([["IPv4", ["10.244.1.2", "10.244.2.2"]]]);
    const slices = endpointSlicesFor([dual], pods);
    expect(slices.map((s) => [s.addressType, s.endpoints.map((e) => e.addresses[0])])).toEqual([["IPv6", ["fd00:10:244:1::2", "fd00:10:244:2::2"]], ["IPv4", ["10.244.1.2", "10.244.2.2"]]]);
    // The IPv4 slice keeps the name an IPv4-only cluster gives it; the IPv6 one has its own.
    expect(slices[1]?.metadata.name).toBe(singleSlices[0]?.metadata.name);
    expect(slices[0]?.metadata.name).not.toBe(slices[1]?.metadata.name);
    const ep = endpointsOf(dual, slices) as { subsets: { addresses: { ip: string }[] }[] };
    expect(ep.subsets.flatMap((x) => x.addresses.map((a) => a.ip))).toEqual(["fd00:10:244:1::2", "fd00:10:244:2::2"]);
  });
});
