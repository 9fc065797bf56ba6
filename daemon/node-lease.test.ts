import { describe, expect, it } from "vitest";
import { parseNetworkConfig } from "../ipam/network-config.js";
import type { Lease } from "../ipam/subnet-manager.js";
import type { NetworkConfig } from "../ipam/network-config.js";
import type { NetlinkHandle } from "../netlink/index.js";
import type { BackendContext } from "./backend/backend.js";
import { VxlanNetwork } from "./backend/vxlan/vxlan-network.js";
import type { DaemonMetrics } from "./metrics.js";
import type { Logger } from "./log.js";
import { addressingOf, leaseInNetwork, previousLeaseFrom, subnetEnvFor, type UnderlayAddresses } from "./node-lease.js";

/** The vxlan backend's lease attributes for a node with these addresses (no kernel needed to know them). */
function leaseAttrsFor(network: NetworkConfig, underlay: UnderlayAddresses) {
  const ctx: BackendContext = { h: {} as NetlinkHandle, network, underlay: { link: { index: 2, name: "eth0", mtu: 1500 } as never, ...underlay }, metrics: {} as DaemonMetrics, log: () => ({}) as Logger };
  if (network.backend.type !== "vxlan") throw new Error("vxlan only");
  return new VxlanNetwork(ctx, network.backend).leaseAttrs();
}

const dual = parseNetworkConfig({ Network: "10.244.0.0/16", EnableIPv6: true, IPv6Network: "fd00:10:244::/56" });
const only6 = parseNetworkConfig({ EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00:10:244::/56" });
const v4Part = { subnet: "10.244.7.0/24", publicIp: "192.168.56.11", vtepMac: "02:01:c0:a8:38:0b" };
const v6Part = { subnet: "fd00:10:244:7::/64", publicIp: "fd00:56::b", vtepMac: "06:01:00:00:00:0b" };
const lease = (parts: Pick<Lease, "ipv4" | "ipv6">): Lease => ({ ...parts, backendType: "vxlan", vni: 1, expiresAt: new Date(0) });
const opts = { mtu: 1430, ipMasq: true, antiSpoofing: true };

describe("what a node's lease means per family", () => {
  it("claims a part of each of the network's families, from the underlay's address of each", async () => {
    const underlay = { ipv4: { ip: "192.168.56.11", cidr: "192.168.56.11/24" }, ipv6: { ip: "fd00:56::b", cidr: "fd00:56::b/64" } };
    expect(await leaseAttrsFor(dual, underlay)).toEqual({ backendType: "vxlan", vni: 1, ipv4: { publicIp: "192.168.56.11", vtepMac: "02:01:c0:a8:38:0b" }, ipv6: { publicIp: "fd00:56::b", vtepMac: "06:01:00:00:00:0b" } });
    // An IPv6-only network claims no IPv4 part, whatever addresses the interface has.
    expect(await leaseAttrsFor(only6, underlay)).toEqual({ backendType: "vxlan", vni: 1, ipv6: { publicIp: "fd00:56::b", vtepMac: "06:01:00:00:00:0b" } });
  });

  it("writes subnet.env each family's lines with the gateway, and reads back the subnets and the first family's address", () => {
    expect(subnetEnvFor(dual, lease({ ipv4: v4Part, ipv6: v6Part }), opts)).toEqual({ ipv4: { network: "10.244.0.0/16", subnet: "10.244.7.1/24" }, ipv6: { network: "fd00:10:244::/56", subnet: "fd00:10:244:7::1/64" }, ...opts, publicIp: "192.168.56.11" });
    const env6 = subnetEnvFor(only6, lease({ ipv6: v6Part }), opts);
    expect(env6).toEqual({ ipv6: { network: "fd00:10:244::/56", subnet: "fd00:10:244:7::1/64" }, ...opts, publicIp: "fd00:56::b" });
    expect(previousLeaseFrom(env6, only6)).toEqual({ ipv6Subnet: "fd00:10:244:7::/64", publicIp: "fd00:56::b" });
    // A subnet no longer in the network is forgotten; with none left, nothing is.
    expect(previousLeaseFrom(env6, parseNetworkConfig({ EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00:10:245::/56" }))).toEqual({});
    expect(previousLeaseFrom(subnetEnvFor(dual, lease({ ipv4: v4Part, ipv6: v6Part }), opts), only6)).toEqual({ ipv6Subnet: "fd00:10:244:7::/64", publicIp: "192.168.56.11" });
  });

  it("gives the NAT rules each family's network and subnet, and judges a lease by the network's first family", () => {
    expect(addressingOf(only6, lease({ ipv6: v6Part }))).toEqual({ ipv6: { network: "fd00:10:244::/56", subnet: "fd00:10:244:7::/64" } });
    expect(addressingOf(dual, lease({ ipv4: v4Part }))).toEqual({ ipv4: { network: "10.244.0.0/16", subnet: "10.244.7.0/24" } });
    expect(leaseInNetwork(only6, lease({ ipv6: v6Part }))).toBe(true);
    expect(leaseInNetwork(only6, lease({ ipv4: v4Part }))).toBe(false);
    expect(leaseInNetwork(dual, lease({ ipv6: v6Part }))).toBe(false); // no IPv4 part on a network whose first family is IPv4
    expect(leaseInNetwork(dual, lease({ ipv4: { ...v4Part, subnet: "10.244.7.0/25" } }))).toBe(false);
  });
});
