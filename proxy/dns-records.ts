// The Kubernetes DNS specification's records, computed from the cluster's objects: services
// (A, SRV, PTR; headless → one A per ready endpoint and per-hostname names; ExternalName → CNAME)
// and pods (a-b-c-d.<ns>.pod). Names that exist without records of the asked type answer NOERROR
// with no answers; anything else NXDOMAIN.
import { isHeadless, nsOf, SERVICE_NAME_LABEL, type ClusterState, type EndpointSlice, type Service } from "./model.js";

export type RecordType = "A" | "SRV" | "PTR" | "CNAME" | "TXT";
export interface DnsRecord {
  name: string;
  type: RecordType;
  ttl: number;
  data: string | { priority: number; weight: number; port: number; target: string } | string[];
}
export interface Zone {
  domain: string;
  records: Map<string, DnsRecord[]>;
  /** Every owner name and its ancestors inside the domain (for NOERROR/no-data answers). */
  names: Set<string>;
}
export interface Lookup {
  rcode: "NOERROR" | "NXDOMAIN";
  answers: DnsRecord[];
}

const TTL = 5;
export const reverseName = (ip: string): string => `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
const dashed = (ip: string): string => ip.replace(/\./g, "-");

function slicesOf(state: ClusterState, svc: Service): EndpointSlice[] {
  return state.endpointSlices.filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === svc.metadata.name && nsOf(s.metadata) === nsOf(svc.metadata));
}

export function buildZone(state: ClusterState, domain = "cluster.local"): Zone {
  const records = new Map<string, DnsRecord[]>();
  const names = new Set<string>();
  const add = (name: string, type: RecordType, data: DnsRecord["data"]): void => {
    const n = name.toLowerCase();
    const list = records.get(n) ?? [];
    if (!list.some((r) => r.type === type && JSON.stringify(r.data) === JSON.stringify(data))) list.push({ name: n, type, ttl: TTL, data });
    records.set(n, list);
    if (!n.endsWith(domain)) return;
    for (let cur = n; cur.length >= domain.length; cur = cur.slice(cur.indexOf(".") + 1)) {
      names.add(cur);
      if (cur === domain) break;
    }
  };
  add(`dns-version.${domain}`, "TXT", ["1.1.0"]);
  for (const svc of state.services) {
    const base = `${svc.metadata.name}.${nsOf(svc.metadata)}.svc.${domain}`;
    if ((svc.spec.type ?? "ClusterIP") === "ExternalName") {
      if (svc.spec.externalName) add(base, "CNAME", svc.spec.externalName);
      continue;
    }
    const namedPorts = (svc.spec.ports ?? []).filter((p) => p.name);
    if (!isHeadless(svc) && svc.spec.clusterIP) {
      add(base, "A", svc.spec.clusterIP);
      add(reverseName(svc.spec.clusterIP), "PTR", base);
      for (const p of namedPorts) add(`_${p.name}._${(p.protocol ?? "TCP").toLowerCase()}.${base}`, "SRV", { priority: 0, weight: 100, port: p.port, target: base });
      continue;
    }
    for (const slice of slicesOf(state, svc)) {
      for (const ep of slice.endpoints) {
        if (ep.conditions.ready === false && !svc.spec.publishNotReadyAddresses) continue;
        for (const ip of ep.addresses) {
          const host = `${ep.hostname ?? dashed(ip)}.${base}`;
          add(base, "A", ip);
          add(host, "A", ip);
          if (ep.hostname) add(reverseName(ip), "PTR", host);
          for (const p of slice.ports.filter((sp) => sp.name)) add(`_${p.name}._${(p.protocol ?? "TCP").toLowerCase()}.${base}`, "SRV", { priority: 0, weight: 100, port: p.port, target: host });
        }
      }
    }
    names.add(base); // a headless service without endpoints still exists
  }
  for (const pod of state.pods) {
    const ip = pod.status?.podIP;
    if (!ip) continue;
    const name = `${dashed(ip)}.${nsOf(pod.metadata)}.pod.${domain}`;
    add(name, "A", ip);
    if (!records.has(reverseName(ip))) add(reverseName(ip), "PTR", name);
  }
  return { domain, records, names };
}

export function lookup(zone: Zone, qname: string, qtype: string): Lookup {
  const name = qname.toLowerCase().replace(/\.$/, "");
  const all = zone.records.get(name);
  if (!all) return { rcode: zone.names.has(name) ? "NOERROR" : "NXDOMAIN", answers: [] };
  const cname = all.find((r) => r.type === "CNAME");
  if (cname && qtype !== "CNAME") return { rcode: "NOERROR", answers: [cname] };
  return { rcode: "NOERROR", answers: qtype === "ANY" ? all : all.filter((r) => r.type === qtype) };
}
