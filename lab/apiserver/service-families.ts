// A Service's IP families as the API server settles them (KEP-563): ipFamilyPolicy defaults to
// SingleStack (RequireDualStack for a headless Service without selector, the old policy on an update),
// ipFamilies follow the cluster IPs given, then the cluster's first family, and a dual-stack policy
// adds the other family where the cluster has both. Refusals carry the API server's words.
import { ipFamilyOf, type IpFamily, type IpFamilyPolicy, type Service } from "../../proxy/model.js";
import { AllocationError } from "./allocators.js";

export interface ServiceFamilies {
  policy: IpFamilyPolicy;
  families: IpFamily[];
}

const other = (f: IpFamily): IpFamily => (f === "IPv4" ? "IPv6" : "IPv4");
const show = (v: unknown): string => JSON.stringify(v);

/** `clusterFamilies`: the service CIDRs' families, the default first. */
export function serviceFamilies(spec: Service["spec"], old: Service["spec"] | undefined, clusterFamilies: IpFamily[]): ServiceFamilies {
  const headlessSelectorless = spec.clusterIP === "None" && !spec.selector;
  const policy: IpFamilyPolicy = spec.ipFamilyPolicy ?? old?.ipFamilyPolicy ?? (headlessSelectorless ? "RequireDualStack" : "SingleStack");
  const ips = (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter((ip) => ip !== "None");
  const families = [...(spec.ipFamilies ?? [])];
  const errors: string[] = [];
  if (spec.clusterIPs?.length && spec.clusterIP && spec.clusterIPs[0] !== spec.clusterIP) errors.push(`spec.clusterIPs[0]: Invalid value: ${show(spec.clusterIPs[0])}: must match \`clusterIP\` ${show(spec.clusterIP)}`);
  if (families.length > 2 || new Set(families).size !== families.length) errors.push(`spec.ipFamilies: Invalid value: ${show(families)}: may specify no more than one IP for each IP family`);
  if (ips.length > 2 || new Set(ips.map(ipFamilyOf)).size !== ips.length) errors.push(`spec.clusterIPs: Invalid value: ${show(ips)}: may specify no more than one IP for each IP family`);
  ips.forEach((ip, i) => {
    if (families[i] && families[i] !== ipFamilyOf(ip)) errors.push(`spec.ipFamilies[${i}]: Invalid value: ${show(families[i])}: must match the family of clusterIPs[${i}] (${ip})`);
  });
  if (policy === "SingleStack" && ips.length === 2) errors.push(`spec.ipFamilyPolicy: Invalid value: "SingleStack": must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified`);
  if (policy === "SingleStack" && families.length === 2) errors.push(`spec.ipFamilyPolicy: Invalid value: "SingleStack": must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified`);
  ips.forEach((ip, i) => {
    if (i < families.length) return;
    if (clusterFamilies.includes(ipFamilyOf(ip))) families.push(ipFamilyOf(ip));
    else errors.push(`spec.clusterIPs[${i}]: Invalid value: ${show(ips)}: ${ipFamilyOf(ip)} is not configured on this cluster`);
  });
  if (errors.length) throw new AllocationError(errors.join(", "));
  // A headless Service without selector has no addresses to allocate: it may name families the cluster lacks.
  if (headlessSelectorless) {
    if (families.length === 0) families.push(clusterFamilies[0] ?? "IPv4");
    if (families.length < 2 && policy !== "SingleStack") families.push(other(families[0] as IpFamily));
    return { policy, families };
  }
  if (policy === "RequireDualStack" && clusterFamilies.length < 2) errors.push(`spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services`);
  families.forEach((f, i) => {
    if (!clusterFamilies.includes(f)) errors.push(`spec.ipFamilies[${i}]: Invalid value: ${show(f)}: not configured on this cluster`);
  });
  if (errors.length) throw new AllocationError(errors.join(", "));
  if (families.length === 0) families.push(clusterFamilies[0] ?? "IPv4");
  if (policy !== "SingleStack" && families.length === 1 && clusterFamilies.length === 2) families.push(other(families[0] as IpFamily));
  return { policy, families };
}
