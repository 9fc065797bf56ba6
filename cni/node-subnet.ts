// What the plugin needs from subnet.env: this node's subnet, its gateway, the MTU. A missing file
// means weftd has not started (yet): the runtime should try again later (code 11).
import { readSubnetEnv, SubnetEnvError, SubnetEnvMissingError } from "../ipam/subnet-env.js";
import { formatCidr, intToIpv4, parseIpv4Cidr } from "../ipam/ipv4.js";
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
}

export function readNodeSubnet(path: string): NodeSubnet {
  try {
    const env = readSubnetEnv(path);
    const sub = parseIpv4Cidr(env.subnet);
    return { subnet: formatCidr(sub.network, sub.prefixLen), gateway: intToIpv4(sub.ip), prefixLen: sub.prefixLen, network: env.network, mtu: env.mtu, ...(env.antiSpoofing !== undefined ? { antiSpoofing: env.antiSpoofing } : {}) };
  } catch (err) {
    if (err instanceof SubnetEnvMissingError) throw new CniError(CNI_ERROR.TRY_AGAIN_LATER, err.message);
    if (err instanceof SubnetEnvError) throw new CniError(CNI_ERROR.TRY_AGAIN_LATER, `${err.message} (weftd writes this file; check its logs)`);
    throw err;
  }
}
