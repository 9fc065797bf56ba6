// A small cluster used by the proxy's and DNS's unit tests: two nodes, a ClusterIP service with three
// endpoints (one on node1), a NodePort with Local policy, a LoadBalancer with affinity, a headless
// StatefulSet service and an ExternalName.
import type { ProxyOptions } from "./iptables-rules.js";
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

/**
 * For the rule builders' cache tests: node1's rules for `after`, built once reusing the cache of a
 * sample-cluster build and once from scratch, and how many Services the cached build built again.
 */
export function rebuildAfter<T, C>(build: (ports: ServicePortEntry[], opts: ProxyOptions, cache?: BuildCache<C>) => T, after: ClusterState, opts: ProxyOptions): { cached: T; fresh: T; rebuilt: number; cacheSize: number } {
  const cache = new PortCache<C>();
  const first = cache.begin();
  build(servicePorts(sampleCluster(), "node1"), opts, first);
  first.commit();
  const second = cache.begin();
  const cached = build(servicePorts(after, "node1"), opts, second);
  const reused = new Set(first.next.values());
  return { cached, fresh: build(servicePorts(after, "node1"), opts), rebuilt: [...second.next.values()].filter((v) => !reused.has(v)).length, cacheSize: second.next.size };
}

