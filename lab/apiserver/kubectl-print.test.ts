import { describe, expect, it } from "vitest";
import { sampleCluster } from "../../proxy/fixtures.js";
import type { ApiState } from "./api-store.js";
import { get } from "./kubectl-print.js";

const api = (): ApiState => ({ ...sampleCluster(), workloads: [], podRuntime: {}, serviceCidr: "10.96.0.0/12", lbPool: ["192.168.56.200", "192.168.56.250"] });

describe("weft-lab get (kubectl's output)", () => {
  it("prints the service table with types, cluster IPs, external IPs and node ports", () => {
    const lines = get(api(), "svc", {}).split("\n");
    expect(lines[0]).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/);
    expect(lines.find((l) => l.startsWith("lb-demo "))).toMatch(/LoadBalancer\s+10\.96\.0\.22\s+192\.168\.56\.200\s+80:31000\/TCP/);
    expect(lines.find((l) => l.startsWith("headless-demo "))).toMatch(/ClusterIP\s+None\s+<none>/);
  });

  it("a name narrows to one object; -o json then prints the object itself; an unknown name is NotFound", () => {
    expect(get(api(), "svc", { name: "cluster-demo" }).split("\n")).toHaveLength(2);
    expect(JSON.parse(get(api(), "svc", { name: "cluster-demo", output: "json" }))).toMatchObject({ kind: "Service", spec: { clusterIP: "10.96.0.20" } });
    expect(() => get(api(), "svc", { name: "nope" })).toThrow('Error from server (NotFound): services "nope" not found');
    expect(get(api(), "svc", { namespace: "kube-system" })).toBe("No resources found in kube-system namespace.");
  });

  it("endpoints list only ready addresses", () => {
    const row = get(api(), "ep", { name: "cluster-demo" }).split("\n")[1]!;
    expect(row).toContain("10.244.1.2:8080,10.244.2.2:8080,10.244.2.3:8080");
    expect(row).not.toContain("10.244.2.4");
  });
});
