// The proxy modes and how each is made: one proxier per IP family that has a cluster CIDR, as
// kube-proxy's dual-stack runs one per family (its MetaProxier hands each family its service ports).
import { isIP } from "node:net";
import { IptablesProxier } from "./iptables-proxier.js";
import { IpvsProxier } from "./ipvs-proxier.js";
import { ipFamilyOf, type IpFamily } from "./model.js";
import { NftProxier } from "./nft-proxier.js";
import { UserspaceProxier } from "./userspace-proxier.js";
import { ProxyConfigError, type Proxier } from "./proxier.js";

export const PROXY_MODES = ["iptables", "nftables", "userspace", "ipvs"] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];

/** One family's proxier: its pod network, and this node's address of that family ("" if none). */
export interface ModeOptions {
  family: IpFamily;
  clusterCidr: string;
  nodeIp: string;
}

export function createProxier(mode: ProxyMode, opts: ModeOptions): Proxier {
  switch (mode) {
    case "iptables":
      return new IptablesProxier({ clusterCidr: opts.clusterCidr, family: opts.family });
    case "nftables":
      return new NftProxier({ clusterCidr: opts.clusterCidr, family: opts.family });
    case "userspace":
      return new UserspaceProxier(opts.nodeIp, undefined, opts.family);
    case "ipvs":
      return new IpvsProxier(opts.nodeIp, undefined, undefined, opts.family);
  }
}

const list = (flag: string): string[] => flag.split(",").map((s) => s.trim()).filter(Boolean);

/** At most one value per family, as kube-proxy's flags take them ("10.244.0.0/16,fd00:10:244::/56"). */
function byFamily(flag: string, values: string[], family: (v: string) => IpFamily): Map<IpFamily, string> {
  const out = new Map<IpFamily, string>();
  for (const v of values) {
    const f = family(v);
    const prior = out.get(f);
    if (prior) throw new ProxyConfigError(`--${flag} has two ${f} values (${prior}, ${v}); give at most one per family, e.g. "10.244.0.0/16,fd00:10:244::/56"`);
    out.set(f, v);
  }
  return out;
}

function cidrFamily(cidr: string): IpFamily {
  const [addr = "", len, extra] = cidr.split("/");
  const version = isIP(addr);
  const bits = Number(len);
  if (version === 0 || extra !== undefined || len === undefined || !/^\d+$/.test(len) || bits > (version === 6 ? 128 : 32)) {
    throw new ProxyConfigError(`--cluster-cidr: "${cidr}" is not a CIDR; give address/prefix length, one per family, e.g. "10.244.0.0/16,fd00:10:244::/56"`);
  }
  return version === 6 ? "IPv6" : "IPv4";
}

function addressFamily(ip: string): IpFamily {
  if (isIP(ip) === 0) throw new ProxyConfigError(`--node-ip: "${ip}" is not an IP address; give this node's addresses, one per family, e.g. "192.168.56.11,fd00:56::11"`);
  return ipFamilyOf(ip);
}

/**
 * The proxiers to run, from kube-proxy's comma-separated --cluster-cidr and --node-ip: one per family
 * with a cluster CIDR, IPv4 first. Userspace mode needs this node's address of each such family.
 */
export function proxierOptions(mode: ProxyMode, clusterCidrs: string, nodeIps = ""): ModeOptions[] {
  const cidrs = byFamily("cluster-cidr", list(clusterCidrs), cidrFamily);
  const ips = byFamily("node-ip", list(nodeIps), addressFamily);
  if (cidrs.size === 0) throw new ProxyConfigError(`--cluster-cidr is empty; give the pod network, one CIDR per family, e.g. "10.244.0.0/16,fd00:10:244::/56"`);
  const out: ModeOptions[] = [];
  for (const family of ["IPv4", "IPv6"] as const) {
    const clusterCidr = cidrs.get(family);
    if (!clusterCidr) continue;
    const nodeIp = ips.get(family) ?? "";
    if (mode === "userspace" && !nodeIp) {
      const given = nodeIps ? `--node-ip has no ${family} address (${nodeIps})` : "--node-ip is not given";
      throw new ProxyConfigError(`userspace mode: --cluster-cidr has the ${family} CIDR ${clusterCidr} but ${given}; add this node's ${family} address to --node-ip (its portals send locally generated traffic there), or drop that CIDR`);
    }
    out.push({ family, clusterCidr, nodeIp });
  }
  return out;
}
