// A small cluster used by the proxy's and DNS's unit tests: two nodes, a ClusterIP service with three
// endpoints (one on node1), a NodePort with Local policy, a LoadBalancer with affinity, a headless
// StatefulSet service and an ExternalName; and the same cluster made dual-stack.
import { familyOfOptions, type ProxyOptions } from "./iptables-rules.js";
import type { ClusterState, EndpointSlice, Service } from "./model.js";
import { PortCache, type BuildCache } from "./port-cache.js";
import { servicePorts, type ServicePortEntry } from "./service-ports.js";

const svc = (name: string, spec: Service["spec"], status?: Service["status"]): Service => ({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec, ...(status ? { status } : {}) });
const slice = (service: string, ports: EndpointSlice["ports"], eps: [string, string, boolean, string?][]): EndpointSlice => ({
  apiVersion: "discovery.k8s.io/v1",
  kind: "EndpointSlice",
  metadata: { name: `${service}-abcde`, namespace: "default", labels: { "kubernetes.io/service-name": service } },
  addressType: "IPv4",
  ports,
  endpoints: eps.map(([ip, node, ready, hostname]) => ({ addresses: [ip], conditions: { ready, serving: ready, terminating: false }, nodeName: node, ...(hostname ? { hostname } : {}), targetRef: { kind: "Pod", name: `${service}-${ip.split(".")[3]}`, namespace: "default" } })),
});

export function sampleCluster(): ClusterState {
  return {
    services: [
      svc("cluster-demo", { type: "ClusterIP", clusterIP: "10.96.0.20", selector: { app: "hello" }, ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }] }),
      svc("nodeport-demo", { type: "NodePort", clusterIP: "10.96.0.21", externalTrafficPolicy: "Local", selector: { app: "hello" }, ports: [{ protocol: "UDP", port: 53, targetPort: 8081, nodePort: 30053 }] }),
      svc("lb-demo", { type: "LoadBalancer", clusterIP: "10.96.0.22", sessionAffinity: "ClientIP", selector: { app: "hello" }, ports: [{ name: "web", protocol: "TCP", port: 80, targetPort: "http", nodePort: 31000 }] }, { loadBalancer: { ingress: [{ ip: "192.168.56.200" }] } }),
      svc("empty", { type: "ClusterIP", clusterIP: "10.96.0.23", selector: { app: "nothing" }, ports: [{ protocol: "TCP", port: 80 }] }),
      svc("headless-demo", { clusterIP: "None", selector: { app: "web" }, ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }] }),
      svc("external", { type: "ExternalName", externalName: "example.org" }),
    ],
    endpointSlices: [
      slice("cluster-demo", [{ name: "http", port: 8080, protocol: "TCP" }], [["10.244.1.2", "node1", true], ["10.244.2.2", "node2", true], ["10.244.2.3", "node2", true], ["10.244.2.4", "node2", false]]),
      slice("nodeport-demo", [{ port: 8081, protocol: "UDP" }], [["10.244.2.2", "node2", true]]),
      slice("lb-demo", [{ name: "web", port: 8080, protocol: "TCP" }], [["10.244.1.2", "node1", true], ["10.244.2.2", "node2", true]]),
      slice("headless-demo", [{ name: "http", port: 8080, protocol: "TCP" }], [["10.244.1.5", "node1", true, "web-0"], ["10.244.2.5", "node2", true, "web-1"], ["10.244.2.6", "node2", false, "web-2"]]),
    ],
    pods: [],
    nodes: [
      { metadata: { name: "node1" }, spec: { podCIDR: "10.244.1.0/24" }, status: { addresses: [{ type: "InternalIP", address: "192.168.56.11" }] } },
      { metadata: { name: "node2" }, spec: { podCIDR: "10.244.2.0/24" }, status: { addresses: [{ type: "InternalIP", address: "192.168.56.12" }] } },
    ],
  };
}

/** The IPv6 twin of a sample address: 10.96.0.20 → fd00:10:96::20, 10.244.1.2 → fd00:10:244:1::2, 192.168.56.200 → fd00:56::200. */
export function ipv6Twin(ip: string): string {
  const [a, b, c, d] = ip.split(".");
  return a === "10" ? (b === "96" ? `fd00:10:96::${d}` : `fd00:10:244:${c}::${d}`) : `fd00:56::${d}`;
}

/**
 * The sample cluster made dual-stack, as the API server makes it: every Service PreferDualStack with
 * a cluster IP per family, except "empty" (SingleStack IPv4); a SingleStack IPv6 Service without
 * endpoints ("v6-only"); an IPv6 twin of every slice; the LoadBalancer with an ingress address per
 * family; nodes with an address per family. Its IPv4 view is exactly the sample cluster's.
 */
export function dualStackCluster(): ClusterState {
  const state = sampleCluster();
  for (const s of state.services) {
    const v4 = s.spec.clusterIP;
    if (s.spec.type === "ExternalName" || !v4 || s.metadata.name === "empty") continue;
    Object.assign(s.spec, { ipFamilyPolicy: "PreferDualStack", ipFamilies: ["IPv4", "IPv6"], clusterIPs: v4 === "None" ? ["None"] : [v4, ipv6Twin(v4)] });
  }
  state.services.find((s) => s.metadata.name === "empty")!.spec.ipFamilies = ["IPv4"];
  state.services.find((s) => s.metadata.name === "lb-demo")!.status!.loadBalancer!.ingress!.push({ ip: "fd00:56::200" });
  state.services.push(svc("v6-only", { type: "ClusterIP", ipFamilyPolicy: "SingleStack", ipFamilies: ["IPv6"], clusterIP: "fd00:10:96::30", clusterIPs: ["fd00:10:96::30"], selector: { app: "nothing" }, ports: [{ protocol: "TCP", port: 80 }] }));
  // Kubernetes makes a slice per family: the same pods, with their IPv6 addresses.
  const twins = state.endpointSlices.map((sl) => ({ ...sl, metadata: { ...sl.metadata, name: `${sl.metadata.name}-v6` }, addressType: "IPv6" as const, endpoints: sl.endpoints.map((ep) => ({ ...ep, addresses: ep.addresses.map(ipv6Twin) })) }));
  state.endpointSlices.push(...twins);
  for (const n of state.nodes) n.status.addresses.push({ type: "InternalIP", address: ipv6Twin(n.status.addresses[0]!.address) });
  return state;
}

/**
 * For the rule builders' cache tests: node1's rules for `after`, built once reusing the cache of a
 * build of `before` (the sample cluster) and once from scratch, and how many Services the cached
 * build built again. The family is the options'.
 */
export function rebuildAfter<T, C>(build: (ports: ServicePortEntry[], opts: ProxyOptions, cache?: BuildCache<C>) => T, after: ClusterState, opts: ProxyOptions, before: ClusterState = sampleCluster()): { cached: T; fresh: T; rebuilt: number; cacheSize: number } {
  const family = familyOfOptions(opts);
  const cache = new PortCache<C>();
  const first = cache.begin();
  build(servicePorts(before, "node1", family), opts, first);
  first.commit();
  const second = cache.begin();
  const cached = build(servicePorts(after, "node1", family), opts, second);
  const reused = new Set(first.next.values());
  return { cached, fresh: build(servicePorts(after, "node1", family), opts), rebuilt: [...second.next.values()].filter((v) => !reused.has(v)).length, cacheSize: second.next.size };
}

