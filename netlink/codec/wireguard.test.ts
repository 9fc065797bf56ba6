// The "wireguard" family's GET_DEVICE on bytes laid out by hand from linux/wireguard.h, and the
// values its attributes carry (keys, sockaddrs, allowed IPs).
import { describe, expect, it } from "vitest";
import { NLM_F } from "./constants.js";
import { MessageParseError } from "./message.js";
import { buildGetDevice, parseDeviceMessages } from "./wireguard.js";
import { decodeEndpoint, decodeKey, encodeAllowedIp, encodeEndpoint, WireguardConfigError } from "./wireguard-values.js";

const bytes = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ""), "hex");
const key = (byte: string): string => bytes(byte.repeat(32)).toString("base64");
const at = { device: "wg0", field: "endpoint" };

describe("WG_CMD_GET_DEVICE request", () => {
  it("is a dump addressed by WGDEVICE_A_IFNAME", () => {
    const req = buildGetDevice(0x1b, "wg0");
    expect(req.type).toBe(0x1b);
    expect(req.flags).toBe(NLM_F.REQUEST | NLM_F.DUMP);
    expect(req.body.toString("hex")).toBe("00010000" + "08000200" + "77673000");
  });
});

describe("WG_CMD_GET_DEVICE reply", () => {
  // First message: the device and peer 0x11.. with one IPv4 allowed IP.
  const first = bytes(`
    00010000
    08000100 07000000
    08000200 77673000
    24000300 ${"aa".repeat(32)}
    24000400 ${"bb".repeat(32)}
    06000600 6cca 0000
    08000700 00000000
    c0000880
      bc000080
        24000100 ${"11".repeat(32)}
        24000200 ${"00".repeat(32)}
        14000400 0200 ca6c c0000201 0000000000000000
        06000500 1900 0000
        14000600 00f1536500000000 0000000000000000
        0c000700 d204000000000000
        0c000800 2e16000000000000
        20000980
          1c000080
            06000100 0200 0000
            08000200 0af40100
            05000300 18 000000
        08000a00 01000000
  `);
  // Second message: peer 0x11.. continued (an IPv6 allowed IP), then peer 0x22.. with an IPv6 endpoint.
  const second = bytes(`
    00010000
    cc000880
      54000080
        24000100 ${"11".repeat(32)}
        2c000980
          28000080
            06000100 0a00 0000
            14000200 fd000010024400010000000000000000
            05000300 40 000000
      74000080
        24000100 ${"22".repeat(32)}
        24000200 ${"33".repeat(32)}
        20000400 0a00 ca6d 00000000 20010db8000000000000000000000001 00000000
        06000500 0000 0000
  `);

  it("reads the device and merges a peer continued in the next message", () => {
    expect(parseDeviceMessages([first, second])).toEqual({
      name: "wg0",
      privateKey: key("aa"),
      publicKey: key("bb"),
      listenPort: 51820,
      peers: [
        {
          publicKey: key("11"),
          endpoint: "192.0.2.1:51820",
          persistentKeepalive: 25,
          lastHandshakeSeconds: 1700000000,
          rxBytes: 1234,
          txBytes: 5678,
          allowedIps: ["10.244.1.0/24", "fd00:10:244:1::/64"],
        },
        { publicKey: key("22"), presharedKey: key("33"), endpoint: "[2001:db8::1]:51821", allowedIps: [] },
      ],
    });
  });

  it("reads a device without keys or peers", () => {
    const bare = bytes("00010000 08000200 77673100 06000600 0000 0000 08000700 2a000000");
    expect(parseDeviceMessages([bare])).toEqual({ name: "wg1", listenPort: 0, fwmark: 42, peers: [] });
  });

  it("refuses replies it cannot read whole", () => {
    expect(() => parseDeviceMessages([])).toThrow(MessageParseError);
    expect(() => parseDeviceMessages([second])).toThrow(/name/);
    const shortKey = bytes("00010000 08000200 77673000 08000300 aaaaaaaa");
    expect(() => parseDeviceMessages([shortKey])).toThrow(/4 bytes, not 32/);
    const truncated = first.subarray(0, first.length - 4);
    expect(() => parseDeviceMessages([truncated])).toThrow(/runs past/);
  });
});

describe("WireGuard values", () => {
  it("takes only 32-byte keys in base64", () => {
    expect(decodeKey(key("11"), at).toString("hex")).toBe("11".repeat(32));
    expect(() => decodeKey("short", { device: "wg0", field: "public key of peer #2" })).toThrow(
      /wireguard device "wg0": invalid public key of peer #2 "short": want 32 bytes in base64/,
    );
    expect(() => decodeKey(key("11").replace("E", "!"), at)).toThrow(WireguardConfigError);
  });

  it("writes endpoints as sockaddr_in and sockaddr_in6, family in host order, port in network order", () => {
    expect(encodeEndpoint("192.0.2.1:51820", at).toString("hex")).toBe("0200" + "ca6c" + "c0000201" + "00".repeat(8));
    expect(encodeEndpoint("[2001:db8::1]:1", at).toString("hex")).toBe("0a00" + "0001" + "00000000" + "20010db8" + "00".repeat(11) + "01" + "00000000");
    expect(encodeEndpoint("[fe80::1%3]:51820", at).subarray(24).toString("hex")).toBe("03000000");
    for (const text of ["192.0.2.1:51820", "[2001:db8::1]:51821", "[fe80::1%3]:51820"]) expect(decodeEndpoint(encodeEndpoint(text, at))).toBe(text);
  });

  it("refuses endpoints without a port, with a bad address or an out-of-range port", () => {
    for (const bad of ["192.0.2.1", "2001:db8::1:51820", "192.0.2.300:1", "192.0.2.1:0", "192.0.2.1:65536", "[zz::1]:1", "host:51820"]) {
      expect(() => encodeEndpoint(bad, at), bad).toThrow(WireguardConfigError);
    }
  });

  it("encodes allowed IPs as family, address and mask, and only CIDRs", () => {
    expect(encodeAllowedIp("10.244.1.0/24", at)).toEqual({ family: 2, addr: bytes("0af40100"), prefixLen: 24 });
    expect(encodeAllowedIp("fd00::/64", at)).toMatchObject({ family: 10, prefixLen: 64 });
    for (const bad of ["10.244.1.0", "10.244.1.0/33", "fd00::/129", "nonsense/8"]) expect(() => encodeAllowedIp(bad, at), bad).toThrow(WireguardConfigError);
  });
});
