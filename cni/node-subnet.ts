// What the plugin needs from subnet.env: this node's subnet, its gateway, the MTU. A missing file
// means weftd has not started (yet): the runtime should try again later (code 11).
import { readSubnetEnv, SubnetEnvError, SubnetEnvMissingError } from "../ipam/subnet-env.js";
import { formatCidr, intToIpv4, parseIpv4Cidr } from "../ipam/ipv4.js";
import { bigIntToIpv6, formatIpv6Cidr, parseIpv6Cidr } from "../ipam/ipv6.js";
import { CNI_ERROR, CniError } from "./errors.js";

export interface NodeSubnet {
  /** "10.244.1.0/24" */
  subnet: string;
  /** "10.244.1.1" */
  gateway: string;
  prefixLen: number;
  /** The cluster's pod network, "10.244.0.0/16". */
  network: string;
  mtu: number;
  /** Whether weftd keeps the anti-spoofing filter here; undefined when subnet.env does not say. */
  antiSpoofing?: boolean;
  /** A dual-stack node's IPv6 subnet, gateway and cluster network (FLANNEL_IPV6_*). */
  ipv6?: { subnet: string; gateway: string; prefixLen: number; network: string };
}

export function readNodeSubnet(path: string): NodeSubnet {
  try {
    const env = readSubnetEnv(path);
    const sub = parseIpv4Cidr(env.subnet);
    const node: NodeSubnet = { subnet: formatCidr(sub.network, sub.prefixLen), gateway: intToIpv4(sub.ip), prefixLen: sub.prefixLen, network: env.network, mtu: env.mtu };
    if (env.antiSpoofing !== undefined) node.antiSpoofing = env.antiSpoofing;
    if (env.ipv6) {
      const s6 = parseIpv6Cidr(env.ipv6.subnet);
      node.ipv6 = { subnet: formatIpv6Cidr(s6.network, s6.prefixLen), gateway: bigIntToIpv6(s6.ip), prefixLen: s6.prefixLen, network: env.ipv6.network };
    }
    return node;
  } catch (err) {
    if (err instanceof SubnetEnvMissingError) throw new CniError(CNI_ERROR.TRY_AGAIN_LATER, err.message);
    if (err instanceof SubnetEnvError) throw new CniError(CNI_ERROR.TRY_AGAIN_LATER, `${err.message} (weftd writes this file; check its logs)`);
    throw err;
  }
}
