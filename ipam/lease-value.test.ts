import { describe, expect, it } from "vitest";
import { decodeLease, encodeLeaseValue, leaseAttrs } from "./lease-value.js";

const KEY_A = "r4/g9hy3SVRoE4HN/I13m2fx/vralTip0jiCysDWdmE=";

describe("wireguard and host-gw leases, as flannel writes them", () => {
  it("reads flannel's wireguard lease (wireguardLeaseAttrs per family) and writes the same bytes", () => {
    // flannel's LeaseAttrs with BackendData/BackendV6Data = json.Marshal(wireguardLeaseAttrs{PublicKey, Port}).
    const flannel = `{"PublicIP":"192.168.56.11","PublicIPv6":"fd00:56::b","BackendType":"wireguard","BackendData":{"PublicKey":"${KEY_A}","Port":51820},"BackendV6Data":{"PublicKey":"${KEY_A}","Port":51821}}`;
    const lease = decodeLease("10.244.11.0-24&fd00:10:244:b::-64", flannel, new Date(0));
    expect(lease).toEqual({
      backendType: "wireguard",
      vni: 0,
      expiresAt: new Date(0),
      ipv4: { subnet: "10.244.11.0/24", publicIp: "192.168.56.11", wireguard: { publicKey: KEY_A, port: 51820 } },
      ipv6: { subnet: "fd00:10:244:b::/64", publicIp: "fd00:56::b", wireguard: { publicKey: KEY_A, port: 51821 } },
    });
    expect(encodeLeaseValue(leaseAttrs(lease))).toBe(flannel);
  });

  it("reads an older flannel's lease without Port as 'the reader's own port'", () => {
    const lease = decodeLease("10.244.12.0-24", `{"PublicIP":"192.168.56.12","BackendType":"wireguard","BackendData":{"PublicKey":"${KEY_A}"}}`, new Date(0));
    expect(lease.ipv4?.wireguard).toEqual({ publicKey: KEY_A });
  });

  it("reads flannel's host-gw lease (PublicIPv6 null, no BackendData) and writes one flannel reads", () => {
    const lease = decodeLease("10.244.13.0-24", '{"PublicIP":"192.168.56.13","PublicIPv6":null,"BackendType":"host-gw"}', new Date(0));
    expect(lease).toEqual({ backendType: "host-gw", vni: 0, expiresAt: new Date(0), ipv4: { subnet: "10.244.13.0/24", publicIp: "192.168.56.13" } });
    expect(encodeLeaseValue(leaseAttrs(lease))).toBe('{"PublicIP":"192.168.56.13","BackendType":"host-gw"}');
  });

  it.each([
    ["a malformed key", `{"PublicIP":"1.2.3.4","BackendType":"wireguard","BackendData":{"PublicKey":"abc","Port":51820}}`, /BackendData.PublicKey "abc" is not a WireGuard public key/],
    ["no key", `{"PublicIP":"1.2.3.4","BackendType":"wireguard"}`, /BackendData.PublicKey undefined/],
    ["a bad port", `{"PublicIP":"1.2.3.4","BackendType":"wireguard","BackendData":{"PublicKey":"${KEY_A}","Port":"x"}}`, /BackendData.Port "x" is not a UDP port/],
    ["an unknown backend", `{"PublicIP":"1.2.3.4","BackendType":"udp"}`, /BackendType "udp" is not one of "vxlan", "wireguard", "host-gw"/],
  ])("refuses %s", (_n, value, message) => {
    expect(() => decodeLease("10.244.14.0-24", value, new Date(0))).toThrow(message);
  });
});
