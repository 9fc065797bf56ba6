// Flattens Services and EndpointSlices into what every proxy mode programs: one entry per service
// port, with its virtual addresses and its endpoints (kube-proxy's ServicePort + Endpoint).
import { isHeadless, nsOf, SERVICE_NAME_LABEL, type ClusterState, type EndpointSlice, type Protocol, type Service } from "./model.js";

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

/** Slices by "namespace/service", so each service finds its own without scanning them all. */
function indexSlices(slices: EndpointSlice[]): SliceIndex {
  const index: SliceIndex = new Map();
  for (const slice of slices) {
    const svc = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!svc || slice.addressType !== "IPv4") continue;
    const key = `${nsOf(slice.metadata)}/${svc}`;
    const list = index.get(key) ?? [];
    list.push(slice);
    index.set(key, list);
  }
  return index;
}

function endpointsFor(index: SliceIndex, svc: Service, portName: string, protocol: Protocol, nodeName: string): ServiceEndpoint[] {
  const out: ServiceEndpoint[] = [];
  const seen = new Set<string>();
  for (const slice of index.get(`${nsOf(svc.metadata)}/${svc.metadata.name}`) ?? []) {
    const port = slice.ports.find((p) => (p.name ?? "") === portName && (p.protocol ?? "TCP") === protocol);
    if (!port) continue;
    for (const ep of slice.endpoints) {
      const ready = ep.conditions.ready !== false;
      for (const ip of ep.addresses) {
        const key = `${ip}:${port.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ ip, port: port.port, ready, local: ep.nodeName === nodeName });
      }
    }
  }
  // A stable order makes the rules (and their diff) independent of the slices' order.
  return out.filter((e) => e.ready).sort((a, b) => (a.ip === b.ip ? a.port - b.port : ipToInt(a.ip) - ipToInt(b.ip)));
}

export function ipToInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

/** Every service port this node's proxy programs: not headless, not ExternalName, with a cluster IP. */
export function servicePorts(state: ClusterState, nodeName: string): ServicePortEntry[] {
  const out: ServicePortEntry[] = [];
  const index = indexSlices(state.endpointSlices);
  for (const svc of state.services) {
    const type = svc.spec.type ?? "ClusterIP";
    if (type === "ExternalName" || isHeadless(svc) || !svc.spec.clusterIP) continue;
    const lbIps = type === "LoadBalancer" ? (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => Boolean(ip)) : [];
    for (const p of svc.spec.ports ?? []) {
      const portName = p.name ?? "";
      const protocol = p.protocol ?? "TCP";
      out.push({
        name: `${nsOf(svc.metadata)}/${svc.metadata.name}${portName ? `:${portName}` : ""}`,
        namespace: nsOf(svc.metadata),
        service: svc.metadata.name,
        portName,
        protocol,
        clusterIP: svc.spec.clusterIP,
        port: p.port,
        ...(type !== "ClusterIP" && p.nodePort ? { nodePort: p.nodePort } : {}),
        loadBalancerIPs: lbIps,
        ...(svc.spec.sessionAffinity === "ClientIP" ? { affinitySeconds: svc.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS } : {}),
        externalLocal: type !== "ClusterIP" && svc.spec.externalTrafficPolicy === "Local",
        internalLocal: svc.spec.internalTrafficPolicy === "Local",
        endpoints: endpointsFor(index, svc, portName, protocol, nodeName),
      });
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.protocol < b.protocol ? -1 : 1));
}
