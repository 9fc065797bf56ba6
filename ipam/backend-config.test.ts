import { describe, expect, it } from "vitest";
import { backendConfigJson, describeBackend, parseBackendConfig } from "./backend-config.js";
import { parseNetworkConfig, toFlannelConfigJson } from "./network-config.js";

const PSK = "cGmK1k5Zf0bd8GZNI3qbOmHLZqPkqZ6eXq3Q6j7ZxWo=";

describe("the Backend object, in flannel's spellings", () => {
  it("takes flannel's wireguard net-conf.json, with flannel's defaults for what it leaves out", () => {
    // As flannel's documentation writes it (Documentation/backends.md).
    const net = parseNetworkConfig({ Network: "10.244.0.0/16", Backend: { Type: "wireguard", PSK, ListenPort: 51820, ListenPortV6: 51821, PersistentKeepaliveInterval: 25, Mode: "auto" } });
    expect(net.backend).toEqual({ type: "wireguard", listenPort: 51820, listenPortV6: 51821, psk: PSK, persistentKeepaliveInterval: 25, mode: "auto" });
    // flannel's defaults (pkg/backend/wireguard RegisterNetwork): ports 51820/51821, keepalive off, separate, MTU from the interface.
    expect(parseBackendConfig({ Type: "wireguard" })).toEqual({ type: "wireguard", listenPort: 51820, listenPortV6: 51821, persistentKeepaliveInterval: 0, mode: "separate" });
    expect(parseBackendConfig({ Type: "wireguard", MTU: 1420, PSK: "" })).toMatchObject({ mtu: 1420 });
    expect(describeBackend(net.backend)).toBe("wireguard (auto, ports 51820/51821, PSK)");
  });

  it("takes host-gw and vxlan, and writes each back as flannel spells it", () => {
    expect(parseBackendConfig({ Type: "host-gw" })).toEqual({ type: "host-gw" });
    expect(parseBackendConfig(undefined)).toEqual({ type: "vxlan", vni: 1, port: 8472, directRouting: false });
    for (const b of [{ Type: "host-gw" }, { Type: "vxlan", VNI: 4, Port: 4789, DirectRouting: true }, { Type: "wireguard", ListenPort: 51830, ListenPortV6: 51831, PSK, PersistentKeepaliveInterval: 0, Mode: "separate" }]) {
      expect(backendConfigJson(parseBackendConfig(b))).toEqual(b);
      expect(toFlannelConfigJson(parseNetworkConfig({ Network: "10.244.0.0/16", Backend: b }))).toMatchObject({ Backend: b });
    }
  });

  it.each([
    [{ Type: "udp" }, /Backend.Type="udp" is not supported \(weft implements "vxlan", "wireguard" and "host-gw"\)/],
    [{ Type: "wireguard", PSK: "not-a-key" }, /Backend.PSK="not-a-key" is not a WireGuard key/],
    [{ Type: "wireguard", Mode: "both" }, /Backend.Mode="both" must be one of "separate", "auto", "ipv4", "ipv6"/],
    [{ Type: "wireguard", ListenPort: 70000 }, /Backend.ListenPort=70000 must be an integer from 1 to 65535/],
    [{ Type: "wireguard", MTU: 500 }, /Backend.MTU=500/],
    [{ Type: "vxlan", DirectRouting: "yes" }, /Backend.DirectRouting="yes" must be true or false/],
  ])("refuses a bad backend, naming the field: %j", (backend, message) => {
    expect(() => parseNetworkConfig({ Network: "10.244.0.0/16", Backend: backend })).toThrow(message);
  });
});
