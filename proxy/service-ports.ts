// Flattens Services and EndpointSlices into what every proxy mode programs: one entry per service
// port, with its virtual addresses and its endpoints (kube-proxy's ServicePort + Endpoint), for one
// IP family: a dual-stack proxy runs one proxier per family and gives each its family's entries.
import { isIPv6 } from "node:net";
import { hostPort } from "./family-syntax.js";
import { ipv6Value } from "./ipv6-address.js";
import { clusterIpOf, ipFamilyOf, isHeadless, nsOf, SERVICE_NAME_LABEL, type ClusterState, type EndpointSlice, type IpFamily, type Protocol, type Service } from "./model.js";

export interface ServiceEndpoint {
  ip: string;
  port: number;
  ready: boolean;
  /** On the node this proxy runs on. */
  local: boolean;
}

export interface ServicePortEntry {
  /** kube-proxy's ServicePortName: "namespace/name:port-name", or "namespace/name" for an unnamed port. */
  name: string;
  namespace: string;
  service: string;
  portName: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  nodePort?: number;
  loadBalancerIPs: string[];
  /** ClientIP session affinity timeout in seconds, when affinity is on. */
  affinitySeconds?: number;
  externalLocal: boolean;
  internalLocal: boolean;
  /** Endpoints ready to take new connections (kube-proxy ignores the others). */
  endpoints: ServiceEndpoint[];
}

const DEFAULT_AFFINITY_SECONDS = 10_800;

type SliceIndex = Map<string, EndpointSlice[]>;

/** `family`'s slices by "namespace/service", so each service finds its own without scanning them all. */
function indexSlices(slices: EndpointSlice[], family: IpFamily): SliceIndex {
  const index: SliceIndex = new Map();
  for (const slice of slices) {
    const svc = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svc || slice.addressType !== family) continue;
    const key = `${nsOf(slice.metadata)}/${svc}`;
    const list = index.get(key) ?? [];
    list.push(slice);
    index.set(key, list);
  }
  return index;
}

function endpointsFor(index: SliceIndex, svc: Service, portName: string, protocol: Protocol, nodeName: string, family: IpFamily): ServiceEndpoint[] {
  const out: ServiceEndpoint[] = [];
  const seen = new Set<string>();
  for (const slice of index.get(`${nsOf(svc.metadata)}/${svc.metadata.name}`) ?? []) {
    const port = slice.ports.find((p) => (p.name ?? "") === portName && (p.protocol ?? "TCP") === protocol);
    if (!port) continue;
    for (const ep of slice.endpoints) {
      const ready = ep.conditions.ready !== false;
      for (const ip of ep.addresses) {
        // A malformed slice's address of the other family would make the whole rule load fail.
        if (ipFamilyOf(ip) !== family) continue;
        const key = hostPort(ip, port.port);
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ ip, port: port.port, ready, local: ep.nodeName === nodeName });
      }
    }
  }
  // A stable, numeric order makes the rules (and their diff) independent of the slices' order.
  const keyed = out.filter((e) => e.ready).map((e) => ({ e, n: ipToInt(e.ip) }));
  return keyed.sort((a, b) => (a.n === b.n ? a.e.port - b.e.port : a.n < b.n ? -1 : 1)).map((k) => k.e);
}

/** An address of either family as a number (0 for a malformed one: sorting never throws). */
export function ipToInt(ip: string): bigint {
  if (!ip.includes(":")) return BigInt(ip.split(".").reduce((n, o) => n * 256 + (Number(o) || 0), 0));
  return isIPv6(ip) ? ipv6Value(ip) : 0n;
}

/**
 * Every service port of `family` this node's proxy programs: not headless, not ExternalName, with a
 * cluster IP of that family (a SingleStack IPv4 Service has no IPv6 entry; a dual-stack one has one
 * in each family), with that family's endpoints and LoadBalancer addresses.
 */
export function servicePorts(state: ClusterState, nodeName: string, family: IpFamily = "IPv4"): ServicePortEntry[] {
  const out: ServicePortEntry[] = [];
  const index = indexSlices(state.endpointSlices, family);
  for (const svc of state.services) {
    const type = svc.spec.type ?? "ClusterIP";
    const clusterIP = clusterIpOf(svc, family);
    if (type === "ExternalName" || isHeadless(svc) || !clusterIP) continue;
    const lbIps = type === "LoadBalancer" ? (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => Boolean(ip) && ipFamilyOf(ip ?? "") === family) : [];
    for (const p of svc.spec.ports ?? []) {
      const portName = p.name ?? "";
      const protocol = p.protocol ?? "TCP";
      out.push({
        name: `${nsOf(svc.metadata)}/${svc.metadata.name}${portName ? `:${portName}` : ""}`,
        namespace: nsOf(svc.metadata),
        service: svc.metadata.name,
        portName,
        protocol,
        clusterIP,
        port: p.port,
        ...(type !== "ClusterIP" && p.nodePort ? { nodePort: p.nodePort } : {}),
        loadBalancerIPs: lbIps,
        ...(svc.spec.sessionAffinity === "ClientIP" ? { affinitySeconds: svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS } : {}),
        externalLocal: type !== "ClusterIP" && svc.spec.externalTrafficPolicy === "Local",
        internalLocal: svc.spec.internalTrafficPolicy === "Local",
        endpoints: endpointsFor(index, svc, portName, protocol, nodeName, family),
      });
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.protocol < b.protocol ? -1 : 1));
}
