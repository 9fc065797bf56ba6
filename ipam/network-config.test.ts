import { describe, expect, it } from "vitest";
import { leasableCount, leasableSubnetAt, leasableSubnets, parseNetworkConfig, subnetInNetwork, toFlannelConfigJson } from "./network-config.js";
import { decodeLease, encodeLeaseValue } from "./lease-value.js";
import { parseLeaseKey, parseSubnetKey, subnetKey } from "./subnet-manager.js";

describe("network config", () => {
  it("applies flannel's defaults", () => {
    const cfg = parseNetworkConfig({ Network: "10.244.0.0/16" });
    expect(cfg).toEqual({ network: "10.244.0.0/16", subnetLen: 24, subnetMin: "10.244.1.0", subnetMax: "10.244.255.0", enableIPv4: true, backend: { type: "vxlan", vni: 1, port: 8472, directRouting: false } });
    expect(leasableSubnets(cfg)).toHaveLength(255);
    expect(leasableSubnets(cfg)[0]).toBe("10.244.1.0/24");
    expect(leasableSubnets(cfg).at(-1)).toBe("10.244.255.0/24");
    const big = parseNetworkConfig({ Network: "10.0.0.0/8", SubnetLen: 24 });
    expect(leasableCount(big)).toBe(65_535);
    expect(leasableSubnetAt(big, 65_534)).toBe("10.255.255.0/24");
    expect(parseNetworkConfig(JSON.stringify(toFlannelConfigJson(cfg)))).toEqual(cfg);
  });

  it("reads flannel's dual-stack and IPv6-only fields, with flannel's IPv6 defaults", () => {
    const dual = parseNetworkConfig({ Network: "10.244.0.0/16", EnableIPv6: true, IPv6Network: "FD00:10:244:0::/56" });
    expect(dual.ipv6).toEqual({ network: "fd00:10:244::/56", subnetLen: 64, subnetMin: "fd00:10:244:1::", subnetMax: "fd00:10:244:ff::" });
    expect(dual.network).toBe("10.244.0.0/16");
    expect(leasableCount(dual.ipv6!)).toBe(255);
    expect(leasableSubnetAt(dual.ipv6!, 0)).toBe("fd00:10:244:1::/64");
    expect(leasableSubnets(dual.ipv6!).at(-1)).toBe("fd00:10:244:ff::/64");
    expect(parseNetworkConfig(JSON.stringify(toFlannelConfigJson(dual)))).toEqual(dual);
    // A network too small for /64s is split as flannel splits it: +2 bits.
    expect(parseNetworkConfig({ Network: "10.244.0.0/16", EnableIPv6: true, IPv6Network: "fd00::/120" }).ipv6?.subnetLen).toBe(122);
    const only6 = parseNetworkConfig({ EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00:10:244::/48", IPv6SubnetLen: 64, IPv6SubnetMin: "fd00:10:244:10::", IPv6SubnetMax: "fd00:10:244:1f::" });
    expect(only6).toMatchObject({ enableIPv4: false, network: "", ipv6: { network: "fd00:10:244::/48", subnetLen: 64, subnetMin: "fd00:10:244:10::", subnetMax: "fd00:10:244:1f::" } });
    expect(leasableCount(only6.ipv6!)).toBe(16);
    expect(toFlannelConfigJson(only6)).toMatchObject({ EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00:10:244::/48" });
    expect(toFlannelConfigJson(only6)).not.toHaveProperty("Network");
    expect(parseNetworkConfig(JSON.stringify(toFlannelConfigJson(only6)))).toEqual(only6);
    expect(subnetInNetwork(dual.ipv6!, "fd00:10:244:7::/64")).toBe(true);
    expect(subnetInNetwork(dual.ipv6!, "fd00:10:244:7:0::/64")).toBe(false); // not the canonical spelling
    expect(subnetInNetwork(dual.ipv6!, "fd00:10:245:7::/64")).toBe(false);
    expect(subnetInNetwork(dual.ipv6!, "10.244.7.0/24")).toBe(false);
    expect(subnetInNetwork(dual, "fd00:10:244:7::/64")).toBe(false);
  });

  it.each([
    [{}, /Network=undefined must be an IPv4 CIDR/],
    [{ Network: "10.244.0.0/16", EnableIPv6: true }, /IPv6Network=undefined must be an IPv6 CIDR such as fd00:10:244::\/56/],
    [{ Network: "10.244.0.0/16", EnableIPv6: true, IPv6Network: "10.1.0.0/16" }, /IPv6Network="10.1.0.0\/16" is not an IPv6 CIDR/],
    [{ Network: "10.244.0.0/16", EnableIPv6: true, IPv6Network: "fd00::1/64" }, /IPv6Network="fd00::1\/64" has host bits set \(did you mean fd00::\/64\?\)/],
    [{ Network: "10.244.0.0/16", EnableIPv6: true, IPv6Network: "fd00::/56", IPv6SubnetLen: 127 }, /IPv6SubnetLen=127 must be an integer from 57 to 126/],
    [{ Network: "10.244.0.0/16", EnableIPv6: true, IPv6Network: "fd00::/56", IPv6SubnetMin: "fd00:1::" }, /IPv6SubnetMin="fd00:1::" is outside IPv6Network fd00::\/56/],
    [{ Network: "10.244.0.0/16", EnableIPv6: true, IPv6Network: "fd00::/56", IPv6SubnetMax: "fd00::8:0:0:1" }, /IPv6SubnetMax="fd00::8:0:0:1" is not the start of a \/64 subnet/],
    [{ Network: "10.244.0.0/16", EnableIPv6: "yes" }, /EnableIPv6="yes" must be true or false/],
    [{ EnableIPv4: false, EnableIPv6: false }, /EnableIPv4=false and EnableIPv6=false/],
    [{ EnableIPv4: false }, /EnableIPv4=false and EnableIPv6=false/],
    [{ Network: "10.244.0.1/16" }, /has host bits set \(did you mean 10.244.0.0\/16\?\)/],
    [{ Network: "10.244.0.0/16", SubnetLen: 8 }, /SubnetLen=8 must be an integer from 17 to 30/],
    [{ Network: "10.244.0.0/16", SubnetMin: "10.245.0.0" }, /SubnetMin="10.245.0.0" is outside Network/],
    [{ Network: "10.244.0.0/16", SubnetMax: "10.244.3.7" }, /SubnetMax="10.244.3.7" is not the start of a \/24 subnet/],
    [{ Network: "10.244.0.0/16", Backend: { Type: "udp" } }, /Backend.Type="udp" is not supported/],
    [{ Network: "10.244.0.0/16", Backend: { Type: "vxlan", VNI: 0 } }, /Backend.VNI=0 must be an integer/],
    ["{", /not JSON/],
  ])("names the field and value: %j", (input, message) => {
    expect(() => parseNetworkConfig(input)).toThrow(message);
  });

  it("knows which subnets belong to the network", () => {
    const cfg = parseNetworkConfig({ Network: "10.244.0.0/16" });
    expect(subnetInNetwork(cfg, "10.244.3.0/24")).toBe(true);
    expect(subnetInNetwork(cfg, "10.245.3.0/24")).toBe(false);
    expect(subnetInNetwork(cfg, "10.244.3.0/25")).toBe(false);
    expect(subnetInNetwork(cfg, "10.244.3.5/24")).toBe(false);
  });
});

describe("lease values", () => {
  it("round-trips flannel's key and value format", () => {
    expect(subnetKey("10.244.1.0/24")).toBe("10.244.1.0-24");
    expect(parseSubnetKey("10.244.1.0-24")).toBe("10.244.1.0/24");
    const value = encodeLeaseValue({ ipv4: { publicIp: "192.168.56.11", vtepMac: "aa:bb:cc:dd:ee:ff" }, vni: 1 });
    expect(JSON.parse(value)).toEqual({ PublicIP: "192.168.56.11", BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: "aa:bb:cc:dd:ee:ff" } });
    expect(decodeLease("10.244.1.0-24", value, new Date(0))).toEqual({ ipv4: { subnet: "10.244.1.0/24", publicIp: "192.168.56.11", vtepMac: "aa:bb:cc:dd:ee:ff" }, backendType: "vxlan", vni: 1, expiresAt: new Date(0) });
  });

  it("reads a dual-stack lease as flannel writes it, and writes one flannel reads", () => {
    // flannel's key (MakeSubnetKey) and value (LeaseAttrs, vxlanLeaseAttrs), as its own tests spell them.
    const key = "10.5.1.0-24&fc00::-64";
    const flannelValue = '{"PublicIP":"192.168.0.1","PublicIPv6":"fc00::1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"EA:1F:3B:0C:12:7A"},"BackendV6Data":{"VNI":1,"VtepMAC":"6e:20:c5:11:05:aa"}}';
    const lease = decodeLease(key, flannelValue, new Date(0));
    expect(lease).toMatchObject({ ipv4: { subnet: "10.5.1.0/24", publicIp: "192.168.0.1", vtepMac: "ea:1f:3b:0c:12:7a" }, vni: 1, ipv6: { subnet: "fc00::/64", publicIp: "fc00::1", vtepMac: "6e:20:c5:11:05:aa" } });
    expect(parseLeaseKey("10.12.13.0-24&fd00:12:13::-56")).toEqual({ ipv4Subnet: "10.12.13.0/24", ipv6Subnet: "fd00:12:13::/56" });
    expect(subnetKey(lease.ipv4?.subnet, lease.ipv6?.subnet)).toBe(key);
    // What weft writes has flannel's fields, in flannel's order.
    const ours = encodeLeaseValue({ ipv4: { publicIp: "192.168.0.1", vtepMac: "ea:1f:3b:0c:12:7a" }, vni: 1, ipv6: { publicIp: "fc00::1", vtepMac: "6e:20:c5:11:05:aa" } });
    expect(ours).toBe(flannelValue.replace("EA:1F:3B:0C:12:7A", "ea:1f:3b:0c:12:7a"));
    expect(decodeLease(key, ours, new Date(0))).toEqual(lease);
    // An IPv4 lease of a dual-stack node's value (extra fields) is still an IPv4 lease.
    expect(decodeLease("10.5.1.0-24", flannelValue, new Date(0)).ipv6).toBeUndefined();
  });

  it("reads an IPv6-only lease as flannel's etcd registry keys it (its empty IPv4 net, 0.0.0.0-0) and writes the value flannel writes", () => {
    // flannel's MakeSubnetKey of an empty IP4Net and an IPv6 subnet; its LeaseAttrs with PublicIP's zero value and no BackendData.
    const key = "0.0.0.0-0&fd00:10:244:7::-64";
    const flannelValue = '{"PublicIP":"0.0.0.0","PublicIPv6":"fd00:56::b","BackendType":"vxlan","BackendV6Data":{"VNI":1,"VtepMAC":"6e:20:c5:11:05:aa"}}';
    const lease = decodeLease(key, flannelValue, new Date(0));
    expect(lease).toEqual({ ipv6: { subnet: "fd00:10:244:7::/64", publicIp: "fd00:56::b", vtepMac: "6e:20:c5:11:05:aa" }, backendType: "vxlan", vni: 1, expiresAt: new Date(0) });
    expect(parseLeaseKey(key)).toEqual({ ipv6Subnet: "fd00:10:244:7::/64" });
    expect(parseSubnetKey(key)).toBe("fd00:10:244:7::/64");
    expect(subnetKey(undefined, "fd00:10:244:7::/64")).toBe(key);
    expect(encodeLeaseValue({ vni: 1, ipv6: { publicIp: "fd00:56::b", vtepMac: "6e:20:c5:11:05:aa" } })).toBe(flannelValue);
    // The IPv4 key alone (no IPv6 part) of the empty net names no subnet at all.
    expect(() => parseLeaseKey("0.0.0.0-0")).toThrow(/names no subnet/);
  });

  it.each([
    ["bad IPv6 part of the key", "10.5.1.0-24&fc00::-x", "{}", /is not like/],
    ["IPv6 key without PublicIPv6", "10.5.1.0-24&fc00::-64", '{"PublicIP":"1.2.3.4","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"},"BackendV6Data":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}}', /PublicIPv6 undefined is not an IPv6 address/],
    ["IPv6 key without BackendV6Data", "10.5.1.0-24&fc00::-64", '{"PublicIP":"1.2.3.4","PublicIPv6":"fc00::1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}}', /BackendV6Data.VtepMAC undefined is not a MAC/],
  ])("refuses a malformed dual-stack lease: %s", (_n, key, value, message) => {
    expect(() => decodeLease(key, value, new Date(0))).toThrow(message);
  });

  it.each([
    ["bad key", "10.244.1.0", "{}", /is not like 10.244.1.0-24/],
    ["not JSON", "10.244.1.0-24", "{", /value is not JSON/],
    ["bad IP", "10.244.1.0-24", '{"PublicIP":"x","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}}', /PublicIP "x"/],
    ["bad MAC", "10.244.1.0-24", '{"PublicIP":"1.2.3.4","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"zz"}}', /VtepMAC "zz"/],
    ["oversized", "10.244.1.0-24", "x".repeat(5000), /too large/],
  ])("refuses a malformed lease: %s", (_n, key, value, message) => {
    expect(() => decodeLease(key, value, new Date(0))).toThrow(message);
  });
});

describe("picking a free subnet", () => {
  it("finds the last free subnet of a nearly full network", async () => {
    const { pickFreeSubnet } = await import("./subnet-manager.js");
    const cfg = parseNetworkConfig({ Network: "10.244.0.0/16" });
    const taken = new Set(leasableSubnets(cfg));
    taken.delete("10.244.77.0/24");
    expect(pickFreeSubnet(cfg, taken)).toBe("10.244.77.0/24");
    taken.add("10.244.77.0/24");
    expect(() => pickFreeSubnet(cfg, taken)).toThrow(/all 255 \/24 subnets are leased/);
  });
});
