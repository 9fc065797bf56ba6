// `weft-lab get`: the tables kubectl prints, and with -o json the v1 List kubectl returns.
import { nsOf, SERVICE_NAME_LABEL, type EndpointSlice, type Pod, type Service } from "../../proxy/model.js";
import type { ApiState } from "./api-store.js";
import { isReady } from "./endpoints.js";

export function age(ts: string | undefined, now = Date.now()): string {
  if (!ts) return "<unknown>";
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h`;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3))).join("").trimEnd()).join("\n");
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

export type Resource = "pods" | "svc" | "ep" | "ingress";
export const RESOURCES: Record<string, Resource> = { pods: "pods", pod: "pods", po: "pods", services: "svc", service: "svc", svc: "svc", endpoints: "ep", ep: "ep", ingress: "ingress", ingresses: "ingress", ing: "ingress" };

const KIND_PLURAL: Record<Resource, string> = { pods: "pods", svc: "services", ep: "endpoints", ingress: "ingresses.networking.k8s.io" };

/** kubectl get: a table, `-o wide`, or `-o json` (a List, or the object itself when `name` is given). */
export function get(api: ApiState, resource: Resource, opts: { output?: string; namespace?: string; allNamespaces?: boolean; name?: string }): string {
  const inNs = <T extends { metadata: { namespace?: string; name?: string } }>(xs: T[]): T[] =>
    xs.filter((x) => (opts.allNamespaces || nsOf(x.metadata as never) === (opts.namespace ?? "default")) && (opts.name === undefined || x.metadata.name === opts.name));
  const nsCol = (x: { metadata: { namespace?: string } }): string[] => (opts.allNamespaces ? [nsOf(x.metadata as never)] : []);
  const nsHead = opts.allNamespaces ? ["NAMESPACE"] : [];
  let items: object[];
  let rows: string[][];
  if (resource === "pods") {
    const pods = inNs(api.pods);
    items = pods;
    const wide = opts.output === "wide";
    rows = [[...nsHead, "NAME", "READY", "STATUS", "RESTARTS", "AGE", ...(wide ? ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"] : [])]];
    for (const p of pods as Pod[]) rows.push([...nsCol(p), p.metadata.name, `${isReady(p) ? 1 : 0}/1`, p.status?.phase ?? "Pending", "0", age(p.metadata.creationTimestamp), ...(wide ? [p.status?.podIP ?? "<none>", p.spec.nodeName ?? "<none>", "<none>", "<none>"] : [])]);
  } else if (resource === "svc") {
    const svcs = inNs(api.services);
    items = svcs;
    rows = [[...nsHead, "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", ...(opts.output === "wide" ? ["SELECTOR"] : [])]];
    for (const s of svcs) rows.push([...nsCol(s), s.metadata.name, s.spec.type ?? "ClusterIP", s.spec.clusterIP ?? "<none>", externalIp(s), servicePorts(s), age(s.metadata.creationTimestamp), ...(opts.output === "wide" ? [Object.entries(s.spec.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(",") || "<none>"] : [])]);
  } else if (resource === "ingress") {
    const ings = inNs(api.ingresses ?? []);
    items = ings;
    // ADDRESS: the controller's LoadBalancer address, as ingress-nginx publishes its Service's status.
    const controller = api.services.find((s) => s.metadata.name === "ingress-nginx-controller");
    const address = (controller?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(",");
    rows = [[...nsHead, "NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]];
    for (const i of ings) rows.push([...nsCol(i), i.metadata.name, i.spec.ingressClassName ?? "<none>", (i.spec.rules ?? []).map((r) => r.host ?? "*").join(",") || "*", address, i.spec.tls?.length ? "80, 443" : "80", age(i.metadata.creationTimestamp)]);
  } else {
    const eps = inNs(api.services)
      .filter((s) => (s.spec.type ?? "ClusterIP") !== "ExternalName")
      .map((s) => endpointsOf(s, api.endpointSlices) as { metadata: { name: string; namespace: string; creationTimestamp?: string }; subsets: never[] });
    items = eps;
    rows = [[...nsHead, "NAME", "ENDPOINTS", "AGE"]];
    for (const e of eps) rows.push([...nsCol(e), e.metadata.name, endpointsColumn(e), age(e.metadata.creationTimestamp)]);
  }
  if (opts.name !== undefined && items.length === 0) throw new Error(`Error from server (NotFound): ${KIND_PLURAL[resource]} "${opts.name}" not found`);
  if (opts.output === "json") return JSON.stringify(opts.name !== undefined ? items[0] : { apiVersion: "v1", kind: "List", metadata: { resourceVersion: "" }, items }, null, 4);
  if (rows.length === 1) return `No resources found in ${opts.allNamespaces ? "any" : (opts.namespace ?? "default")} namespace.`;
  return table(rows);
}
