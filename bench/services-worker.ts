// Runs inside a throwaway namespace: times weft-proxy's rule syncs for N services × 10 endpoints,
// full and after one endpoint changes, in iptables and nftables mode, of one IP family (an IPv6
// cluster's services and endpoints are the IPv4 ones' numbers in IPv6 ranges); prints JSON.
import { IptablesProxier } from "../proxy/iptables-proxier.js";
import type { ClusterState, EndpointSlice, Service } from "../proxy/model.js";
import { NftProxier } from "../proxy/nft-proxier.js";
import { servicePorts } from "../proxy/service-ports.js";

const [mode, countArg, familyArg = "IPv4"] = process.argv.slice(2);
const family = familyArg === "IPv6" ? "IPv6" : "IPv4";
const N = Number(countArg);
const ENDPOINTS = 10;

// Service i has ClusterIP 10.96.0.0/12 + i and endpoints 10.244.0.0/14 + 10·i … 10·i + 9; NodePorts
// are unique, so only the first 2,768 services (30000–32767) get one. Services bumped[0] … bumped[1]−1
// have their first endpoint moved to another address: each sync that bumps one more is "one
// endpoint changed".
function cluster(n: number, bumped: [number, number] = [0, 0]): ClusterState {
  const services: Service[] = [];
  const endpointSlices: EndpointSlice[] = [];
  const ip = (base: number, k: number): string => (family === "IPv6" ? `fd00:10:${base.toString(16)}::${(k >> 16).toString(16)}:${(k & 0xffff).toString(16)}` : `10.${base + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`);
  for (let i = 0; i < n; i++) {
    const name = `svc-${i}`;
    const nodePort = i < 2768 ? { nodePort: 30000 + i } : {};
    services.push({ metadata: { name, namespace: "bench" }, spec: { type: i < 2768 ? "NodePort" : "ClusterIP", clusterIP: ip(96, i), ports: [{ name: "http", protocol: "TCP", port: 80, ...nodePort }] } });
    endpointSlices.push({
      metadata: { name: `${name}-x`, namespace: "bench", labels: { "kubernetes.io/service-name": name } },
      addressType: family,
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: Array.from({ length: ENDPOINTS }, (_, e) => ({ addresses: [i >= bumped[0] && i < bumped[1] && e === 0 ? ip(255, i) : ip(244, i * ENDPOINTS + e)], conditions: { ready: true }, nodeName: e % 2 ? "node1" : "node2" })),
    });
  }
  return { services, endpointSlices, pods: [], nodes: [] };
}

const opts = { clusterCidr: family === "IPv6" ? "fd00:10:f4::/48" : "10.244.0.0/14", family } as const;
const proxier = mode === "nftables" ? new NftProxier(opts) : new IptablesProxier(opts, undefined, mode === "iptables-legacy" ? "legacy" : "default");
proxier.init();
const full = proxier.sync(servicePorts(cluster(N), "node1", family));
// Seven changes, each moving one endpoint of a different Service: the first (just after the full
// sync, code still cold) and the median (a running proxy's steady state).
const changes = Array.from({ length: 7 }, (_, k) => proxier.sync(servicePorts(cluster(N, [Math.floor(N / 2), Math.floor(N / 2) + k + 1]), "node1", family)));
const median = [...changes].sort((a, b) => a.ms - b.ms)[3]!;
console.log(JSON.stringify({ mode, family, services: N, full: full.ms, fullBytes: full.bytes, firstChange: changes[0]!.ms, change: median.ms, changeBytes: median.bytes }));
