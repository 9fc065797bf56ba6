// A Service's cluster IPs, families and NodePorts as the API server settles them at create and update,
// with the lab's allocators and family rules (the same as `weft-lab apply`'s plan). LoadBalancer
// addresses are not given here: a controller writes them to status.
import type { IpFamily, Service } from "../../proxy/model.js";
import { ipFamilyOf } from "../../proxy/model.js";
import { allocateClusterIp, allocateNodePort, AllocationError } from "./allocators.js";
import { cidrsByFamily } from "./ip-family.js";
import { serviceFamilies } from "./service-families.js";
import type { StatusCause } from "./errors.js";

type Spec = Service["spec"];

/** The allocation's refusal as a 422 cause: "spec.clusterIP: Invalid value: …" → field and message. */
export function allocationCause(err: AllocationError): StatusCause {
  const m = /^([\w.[\]]+): (.*)$/s.exec(err.message);
  return { reason: "FieldValueInvalid", message: m?.[2] ?? err.message, ...(m?.[1] ? { field: m[1] } : {}) };
}

/** Fills `spec` (defaults, families, clusterIPs, nodePorts) in place; `others`: every other Service. */
export function settleServiceSpec(spec: Spec, old: Spec | undefined, others: Spec[], serviceCidr: string, random = Math.random): void {
  const type = (spec.type ??= "ClusterIP");
  if (type === "ExternalName") return;
  const cidrs = cidrsByFamily(serviceCidr);
  const { policy, families } = serviceFamilies(spec, old, [...cidrs.keys()] as IpFamily[]);
  spec.ipFamilyPolicy = policy;
  spec.ipFamilies = families;
  if (old?.clusterIP && spec.clusterIP && spec.clusterIP !== old.clusterIP) throw new AllocationError(`spec.clusterIP: Invalid value: "${spec.clusterIP}": field is immutable`);
  if (spec.clusterIP === "None") spec.clusterIPs = ["None"];
  else {
    const used = new Set(others.flatMap((s) => s.clusterIPs ?? [s.clusterIP ?? ""]));
    const given = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
    const kept = (f: IpFamily): string | undefined => (old?.clusterIPs ?? []).find((ip) => ip !== "None" && ipFamilyOf(ip) === f);
    spec.clusterIPs = families.map((f, i) => kept(f) ?? allocateClusterIp(cidrs.get(f) ?? "", used, given[i], i === 0 ? "spec.clusterIP" : `spec.clusterIPs[${i}]`, random));
    spec.clusterIP = spec.clusterIPs[0];
  }
  const usedPorts = new Set(others.flatMap((s) => (s.ports ?? []).map((p) => p.nodePort ?? 0)));
  spec.ports = (spec.ports ?? []).map((p, i) => {
    const port = { ...p, protocol: p.protocol ?? "TCP", targetPort: p.targetPort ?? p.port };
    if (type === "ClusterIP") return port;
    const prev = old?.ports?.find((q) => q.port === p.port && (q.protocol ?? "TCP") === port.protocol);
    const nodePort = allocateNodePort(usedPorts, p.nodePort ?? prev?.nodePort, `spec.ports[${i}].nodePort`, random);
    usedPorts.add(nodePort);
    return { ...port, nodePort };
  });
  if (type === "NodePort" || type === "LoadBalancer") (spec as Record<string, unknown>).externalTrafficPolicy ??= "Cluster";
}
