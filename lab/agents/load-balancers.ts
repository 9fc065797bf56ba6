// MetalLB's allocation, as a pure function: each LoadBalancer Service gets one address of each of its
// families from that family's pool (its spec.loadBalancerIP where it asks for one and the address is
// free), keeps the addresses it has, and a Service that is no longer a LoadBalancer gives them back.
import { ipFamilyOf, type Service } from "../../proxy/model.js";
import { allocateLoadBalancerIp } from "../apiserver/allocators.js";

export interface LoadBalancerChange {
  service: Service;
  ingress: { ip: string }[];
}

/** The Services whose status.loadBalancer.ingress must change, and what it must become. */
export function allocateLoadBalancers(services: Service[], pools: [string, string][]): LoadBalancerChange[] {
  const held = (s: Service): string[] => (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? "").filter(Boolean);
  const isLb = (s: Service): boolean => s.spec.type === "LoadBalancer";
  // Addresses held by LoadBalancer Services are taken first, so a newcomer never gets one of them.
  const taken = new Set(services.filter(isLb).flatMap(held));
  const changes: LoadBalancerChange[] = [];
  for (const s of [...services].sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""))) {
    const now = held(s);
    if (!isLb(s)) {
      if (now.length) changes.push({ service: s, ingress: [] });
      continue;
    }
    const want = (s.spec.ipFamilies ?? ["IPv4"]).flatMap((f) => {
      const kept = now.find((ip) => ipFamilyOf(ip) === f);
      if (kept) return [kept];
      const pool = pools.find((p) => ipFamilyOf(p[0]) === f);
      const requested = s.spec.loadBalancerIP && ipFamilyOf(s.spec.loadBalancerIP) === f ? s.spec.loadBalancerIP : undefined;
      const ip = pool && allocateLoadBalancerIp(pool, taken, requested);
      if (ip) taken.add(ip);
      return ip ? [ip] : [];
    });
    if (want.join(",") !== now.join(",")) changes.push({ service: s, ingress: want.map((ip) => ({ ip })) });
  }
  return changes;
}
