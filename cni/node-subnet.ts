// What the plugin needs from subnet.env: this node's subnet and gateway of each family (IPv4, IPv6,
// or both), the MTU. A missing file means weftd has not started (yet): the runtime should try again
// later (code 11).
import { readSubnetEnv, SubnetEnvError, SubnetEnvMissingError, type FamilyEnv } from "../ipam/subnet-env.js";
import { formatCidr, intToIpv4, parseIpv4Cidr } from "../ipam/ipv4.js";
import { bigIntToIpv6, formatIpv6Cidr, parseIpv6Cidr } from "../ipam/ipv6.js";
import { CNI_ERROR, CniError } from "./errors.js";

/** One family's part: "10.244.1.0/24", its gateway "10.244.1.1", 24, and the cluster's network "10.244.0.0/16". */
export interface FamilySubnet {
  subnet: string;
  gateway: string;
  prefixLen: number;
  network: string;
}

export interface NodeSubnet {
  /** Absent on an IPv6-only node. */
  ipv4?: FamilySubnet;
  /** Present on a dual-stack or IPv6-only node (FLANNEL_IPV6_*). */
  ipv6?: FamilySubnet;
  mtu: number;
  /** Whether weftd keeps the anti-spoofing filter here; undefined when subnet.env does not say. */
  antiSpoofing?: boolean;
  /** How long a new pod is held until weftd judges it under network policy; undefined where weftd enforces none. */
  policyNewPodHoldMs?: number;
}

/** The node's families with their parts, IPv4 first: a pod gets an address of each. */
export const nodeFamilies = (n: NodeSubnet): [4 | 6, FamilySubnet][] => [...(n.ipv4 ? [[4, n.ipv4] as [4, FamilySubnet]] : []), ...(n.ipv6 ? [[6, n.ipv6] as [6, FamilySubnet]] : [])];

function ipv4Part(env: FamilyEnv): FamilySubnet {
  const s = parseIpv4Cidr(env.subnet);
  return { subnet: formatCidr(s.network, s.prefixLen), gateway: intToIpv4(s.ip), prefixLen: s.prefixLen, network: env.network };
}

function ipv6Part(env: FamilyEnv): FamilySubnet {
  const s = parseIpv6Cidr(env.subnet);
  return { subnet: formatIpv6Cidr(s.network, s.prefixLen), gateway: bigIntToIpv6(s.ip), prefixLen: s.prefixLen, network: env.network };
}

export function readNodeSubnet(path: string): NodeSubnet {
  try {
    const env = readSubnetEnv(path);
    return { ...(env.ipv4 ? { ipv4: ipv4Part(env.ipv4) } : {}), ...(env.ipv6 ? { ipv6: ipv6Part(env.ipv6) } : {}), mtu: env.mtu, ...(env.antiSpoofing !== undefined ? { antiSpoofing: env.antiSpoofing } : {}), ...(env.policyNewPodHoldMs !== undefined ? { policyNewPodHoldMs: env.policyNewPodHoldMs } : {}) };
  } catch (err) {
    if (err instanceof SubnetEnvMissingError) throw new CniError(CNI_ERROR.TRY_AGAIN_LATER, err.message);
    if (err instanceof SubnetEnvError) throw new CniError(CNI_ERROR.TRY_AGAIN_LATER, `${err.message} (weftd writes this file; check its logs)`);
    throw err;
  }
}
