// What this node's lease means for the files and rules weftd writes, per family of the network (pure):
// subnet.env as flannel writes it, the previous lease that
// subnet.env records, and the addressing the NAT rules are written for.
import { formatCidr, intToIpv4, parseIpv4Cidr } from "../ipam/ipv4.js";
import { bigIntToIpv6, formatIpv6Cidr, parseIpv6Cidr } from "../ipam/ipv6.js";
import { networkFamilies, rangeOf, subnetInNetwork, type NetworkConfig } from "../ipam/network-config.js";
import type { SubnetEnv } from "../ipam/subnet-env.js";
import { leasePart, type Lease, type PreviousLease } from "../ipam/subnet-manager.js";
import type { NodeAddressing } from "./node-rules.js";
import type { UnderlayAddress } from "./underlay.js";

/** This node's underlay address of each family the network has. */
export type UnderlayAddresses = { ipv4?: UnderlayAddress; ipv6?: UnderlayAddress };

/** The lease's address of the network's first family: how the node is known (WEFT_PUBLIC_IP, logs, pod records). */
export const firstPublicIp = (lease: Lease): string => (lease.ipv4 ?? lease.ipv6)?.publicIp ?? "";

/** A subnet's first address (the node's gateway) with its length: FLANNEL_SUBNET's and FLANNEL_IPV6_SUBNET's form. */
function gatewayCidr(subnet: string): string {
  if (subnet.includes(":")) {
    const s = parseIpv6Cidr(subnet);
    return `${bigIntToIpv6(s.network + 1n)}/${s.prefixLen}`;
  }
  const s = parseIpv4Cidr(subnet);
  return `${intToIpv4(s.network + 1)}/${s.prefixLen}`;
}

/** subnet.env for this lease: each family's lines where the lease has that family, as flannel writes them. */
export function subnetEnvFor(network: NetworkConfig, lease: Lease, opts: { mtu: number; ipMasq: boolean; antiSpoofing: boolean }): SubnetEnv {
  const part = (f: 4 | 6) => {
    const range = rangeOf(network, f);
    const own = leasePart(lease, f);
    return range && own ? { network: range.network, subnet: gatewayCidr(own.subnet) } : undefined;
  };
  const [ipv4, ipv6] = [part(4), part(6)];
  return { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}), mtu: opts.mtu, ipMasq: opts.ipMasq, publicIp: firstPublicIp(lease), antiSpoofing: opts.antiSpoofing };
}

/** What subnet.env says this node had: its subnets that are still in the network, and its public IP then. */
export function previousLeaseFrom(env: SubnetEnv, network: NetworkConfig): PreviousLease {
  const subnetOf = (f: 4 | 6): string | undefined => {
    const gateway = leasePart(env, f)?.subnet;
    const range = rangeOf(network, f);
    if (!gateway || !range) return undefined;
    const subnet = f === 6 ? formatIpv6Cidr(parseIpv6Cidr(gateway).network, parseIpv6Cidr(gateway).prefixLen) : formatCidr(parseIpv4Cidr(gateway).network, parseIpv4Cidr(gateway).prefixLen);
    return subnetInNetwork(range, subnet) ? subnet : undefined;
  };
  const [ipv4Subnet, ipv6Subnet] = [subnetOf(4), subnetOf(6)];
  if (!ipv4Subnet && !ipv6Subnet) return {};
  return { ...(ipv4Subnet ? { ipv4Subnet } : {}), ...(ipv6Subnet ? { ipv6Subnet } : {}), ...(env.publicIp ? { publicIp: env.publicIp } : {}) };
}

/** The pod network and this node's subnet of each family the lease has: what the NAT rules are written for. */
export function addressingOf(network: NetworkConfig, lease: Lease): NodeAddressing {
  const part = (f: 4 | 6) => {
    const range = rangeOf(network, f);
    const own = leasePart(lease, f);
    return range && own ? { network: range.network, subnet: own.subnet } : undefined;
  };
  const [ipv4, ipv6] = [part(4), part(6)];
  return { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
}

/** Whether a lease is one of the network's: its part of the network's first family is one of that range's subnets. */
export function leaseInNetwork(network: NetworkConfig, lease: Lease): boolean {
  const first = networkFamilies(network)[0] ?? 4;
  const range = rangeOf(network, first);
  const own = leasePart(lease, first);
  return !!range && !!own && subnetInNetwork(range, own.subnet);
}
