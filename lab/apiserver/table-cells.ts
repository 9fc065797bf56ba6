// The cells of the tables kubectl prints (the API server's Tables are built of them), and v1 Endpoints
// as the endpoints controller writes them from a Service's EndpointSlices.
import { nsOf, SERVICE_NAME_LABEL, type EndpointSlice, type Service } from "../../proxy/model.js";

export function age(ts: string | undefined, now = Date.now()): string {
  if (!ts) return "<unknown>";
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h`;
}

export function servicePorts(s: Service): string {
  return (s.spec.ports ?? []).map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`).join(",") || "<none>";
}

export function externalIp(s: Service): string {
  const type = s.spec.type ?? "ClusterIP";
  if (type === "ExternalName") return s.spec.externalName ?? "<none>";
  if (type !== "LoadBalancer") return "<none>";
  return (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(",") || "<pending>";
}

/** v1 Endpoints (what `kubectl get ep` shows) from a service's EndpointSlices: its first family's, as the controller writes them. */
export function endpointsOf(svc: Service, slices: EndpointSlice[]): object {
  const family = svc.spec.ipFamilies?.[0] ?? "IPv4";
  const mine = slices.filter((e) => e.metadata.labels?.[SERVICE_NAME_LABEL] === svc.metadata.name && nsOf(e.metadata) === nsOf(svc.metadata) && e.addressType === family);
  const subsets = mine
    .filter((e) => e.endpoints.length > 0)
    .map((e) => {
      const addr = (ready: boolean) => e.endpoints.filter((ep) => (ep.conditions.ready !== false) === ready).flatMap((ep) => ep.addresses.map((ip) => ({ ip, ...(ep.hostname ? { hostname: ep.hostname } : {}), ...(ep.nodeName ? { nodeName: ep.nodeName } : {}), ...(ep.targetRef ? { targetRef: ep.targetRef } : {}) })));
      const ready = addr(true);
      const notReady = addr(false);
      return { ...(ready.length ? { addresses: ready } : {}), ...(notReady.length ? { notReadyAddresses: notReady } : {}), ports: e.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol ?? "TCP" })) };
    });
  return { apiVersion: "v1", kind: "Endpoints", metadata: { name: svc.metadata.name, namespace: nsOf(svc.metadata), creationTimestamp: svc.metadata.creationTimestamp }, subsets };
}

export function endpointsColumn(ep: { subsets: { addresses?: { ip: string }[]; ports: { port: number }[] }[] }): string {
  const all = ep.subsets.flatMap((s) => (s.addresses ?? []).flatMap((a) => s.ports.map((p) => `${a.ip}:${p.port}`)));
  if (all.length === 0) return "<none>";
  return all.length > 3 ? `${all.slice(0, 3).join(",")} + ${all.length - 3} more...` : all.join(",");
}
