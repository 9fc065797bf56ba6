// The Kubernetes DNS specification's records, computed from the cluster's objects: services
// (A for the IPv4 cluster IP, AAAA for the IPv6 one, SRV, PTR; headless → one A or AAAA per ready
// endpoint of each family's slices and per-hostname names; ExternalName → CNAME) and pods
// (a-b-c-d.<ns>.pod, and fd00-10-244-1--5.<ns>.pod for IPv6). Names that exist without records of
// the asked type answer NOERROR with no answers; anything else NXDOMAIN.
import { canonicalIpv6, ipv6Hex } from "./ipv6-address.js";
import { clusterIpOf, ipFamilyOf, isHeadless, nsOf, podIps, SERVICE_NAME_LABEL, type ClusterState, type EndpointSlice, type IpFamily, type Service } from "./model.js";

export type RecordType = "A" | "AAAA" | "SRV" | "PTR" | "CNAME" | "TXT";
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
const FAMILIES: IpFamily[] = ["IPv4", "IPv6"];
const addressRecord = (family: IpFamily): RecordType => (family === "IPv6" ? "AAAA" : "A");
/** The address as DNS names carry it: IPv6 in its one RFC 5952 text, so names and dedup agree however the API wrote it. */
const canonicalIp = (ip: string): string => (ipFamilyOf(ip) === "IPv6" ? canonicalIpv6(ip) : ip);
/** in-addr.arpa for IPv4; ip6.arpa with the 32 nibbles reversed for IPv6 (RFC 3596 §2.5). */
export const reverseName = (ip: string): string => (ipFamilyOf(ip) === "IPv6" ? `${[...ipv6Hex(ip)].reverse().join(".")}.ip6.arpa` : `${ip.split(".").reverse().join(".")}.in-addr.arpa`);
/** A name label from an address, as CoreDNS reads it back ('-' → '.' or ':'): 10-244-1-5, fd00-10-244-1--5. */
const dashed = (ip: string): string => canonicalIp(ip).replace(/[.:]/g, "-");

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
    const clusterIps = FAMILIES.flatMap((f) => clusterIpOf(svc, f) ?? []);
    if (!isHeadless(svc) && clusterIps.length) {
      for (const ip of clusterIps) {
        add(base, addressRecord(ipFamilyOf(ip)), canonicalIp(ip));
        add(reverseName(ip), "PTR", base);
      }
      for (const p of namedPorts) add(`_${p.name}._${(p.protocol ?? "TCP").toLowerCase()}.${base}`, "SRV", { priority: 0, weight: 100, port: p.port, target: base });
      continue;
    }
    for (const slice of slicesOf(state, svc)) {
      if (slice.addressType === "FQDN") continue; // names, not addresses: nothing for A or AAAA
      const type = addressRecord(slice.addressType);
      for (const ep of slice.endpoints) {
        if (ep.conditions.ready === false && !svc.spec.publishNotReadyAddresses) continue;
        for (const ip of ep.addresses) {
          const host = `${ep.hostname ?? dashed(ip)}.${base}`;
          add(base, type, canonicalIp(ip));
          add(host, type, canonicalIp(ip));
          if (ep.hostname) add(reverseName(ip), "PTR", host);
          for (const p of slice.ports.filter((sp) => sp.name)) add(`_${p.name}._${(p.protocol ?? "TCP").toLowerCase()}.${base}`, "SRV", { priority: 0, weight: 100, port: p.port, target: host });
        }
      }
    }
    names.add(base); // a headless service without endpoints still exists
  }
  for (const pod of state.pods) {
    for (const ip of podIps(pod)) {
      const name = `${dashed(ip)}.${nsOf(pod.metadata)}.pod.${domain}`;
      const ptr = reverseName(ip);
      add(name, addressRecord(ipFamilyOf(ip)), canonicalIp(ip));
      if (!records.has(ptr)) add(ptr, "PTR", name);
    }
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
