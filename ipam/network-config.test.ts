import { describe, expect, it } from "vitest";
import { leasableCount, leasableSubnetAt, leasableSubnets, parseNetworkConfig, subnetInNetwork, toFlannelConfigJson } from "./network-config.js";
import { decodeLease, encodeLeaseValue, parseSubnetKey, subnetKey } from "./subnet-manager.js";

describe("network config", () => {
  it("applies flannel's defaults", () => {
    const cfg = parseNetworkConfig({ Network: "10.244.0.0/16" });
    expect(cfg).toEqual({ network: "10.244.0.0/16", subnetLen: 24, subnetMin: "10.244.1.0", subnetMax: "10.244.255.0", backend: { type: "vxlan", vni: 1, port: 8472, directRouting: false } });
    expect(leasableSubnets(cfg)).toHaveLength(255);
    expect(leasableSubnets(cfg)[0]).toBe("10.244.1.0/24");
    expect(leasableSubnets(cfg).at(-1)).toBe("10.244.255.0/24");
    const big = parseNetworkConfig({ Network: "10.0.0.0/8", SubnetLen: 24 });
    expect(leasableCount(big)).toBe(65_535);
    expect(leasableSubnetAt(big, 65_534)).toBe("10.255.255.0/24");
    expect(parseNetworkConfig(JSON.stringify(toFlannelConfigJson(cfg)))).toEqual(cfg);
  });

  it.each([
    [{}, /Network=undefined must be an IPv4 CIDR/],
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
    const value = encodeLeaseValue({ publicIp: "192.168.56.11", vtepMac: "aa:bb:cc:dd:ee:ff", vni: 1 });
    expect(JSON.parse(value)).toEqual({ PublicIP: "192.168.56.11", BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: "aa:bb:cc:dd:ee:ff" } });
    expect(decodeLease("10.244.1.0-24", value, new Date(0))).toMatchObject({ subnet: "10.244.1.0/24", publicIp: "192.168.56.11", vtepMac: "aa:bb:cc:dd:ee:ff", vni: 1 });
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
    const { pickFreeSubnet } = await import("./etcd-subnet-manager.js");
    const cfg = parseNetworkConfig({ Network: "10.244.0.0/16" });
    const taken = new Set(leasableSubnets(cfg));
    taken.delete("10.244.77.0/24");
    expect(pickFreeSubnet(cfg, taken)).toBe("10.244.77.0/24");
    taken.add("10.244.77.0/24");
    expect(() => pickFreeSubnet(cfg, taken)).toThrow(/all 255 \/24 subnets are leased/);
  });
});
