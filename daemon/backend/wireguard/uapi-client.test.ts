import { describe, expect, it } from "vitest";
import { encodeSet, parseGet } from "./uapi-client.js";

const hex = (n: number): string => Buffer.alloc(32, n).toString("hex");
const b64 = (n: number): string => Buffer.alloc(32, n).toString("base64");

describe("the UAPI text protocol", () => {
  it("writes a change as set=1 lines: device keys first, then each peer's, hex keys, a blank line to end", () => {
    const text = encodeSet({
      privateKey: b64(1),
      listenPort: 51820,
      peers: [
        { publicKey: b64(2), remove: true },
        { publicKey: b64(3), presharedKey: "", endpoint: "[fd00:56::3]:51821", persistentKeepalive: 25, replaceAllowedIps: true, allowedIps: ["10.244.3.0/24", "fd00:10:244:3::/64"] },
      ],
    });
    expect(text).toBe(
      [`set=1`, `private_key=${hex(1)}`, `listen_port=51820`, `public_key=${hex(2)}`, `remove=true`, `public_key=${hex(3)}`, `preshared_key=${"0".repeat(64)}`, `endpoint=[fd00:56::3]:51821`, `persistent_keepalive_interval=25`, `replace_allowed_ips=true`, `allowed_ip=10.244.3.0/24`, `allowed_ip=fd00:10:244:3::/64`, "", ""].join("\n"),
    );
  });

  it("reads a get=1 answer (as wireguard-go writes it) into the device and its peers", () => {
    const answer = [
      `private_key=${hex(1)}`,
      `listen_port=51820`,
      `public_key=${hex(2)}`,
      `preshared_key=${"0".repeat(64)}`,
      `protocol_version=1`,
      `endpoint=192.168.56.12:51820`,
      `last_handshake_time_sec=1765000000`,
      `last_handshake_time_nsec=5`,
      `tx_bytes=92`,
      `rx_bytes=148`,
      `persistent_keepalive_interval=0`,
      `allowed_ip=10.244.12.0/24`,
      `public_key=${hex(3)}`,
      `preshared_key=${hex(9)}`,
      `allowed_ip=10.244.13.0/24`,
      `allowed_ip=fd00:10:244:13::/64`,
      `errno=0`,
      "",
      "",
    ].join("\n");
    expect(parseGet("wg0", answer)).toEqual({
      name: "wg0",
      privateKey: b64(1),
      listenPort: 51820,
      peers: [
        { publicKey: b64(2), endpoint: "192.168.56.12:51820", lastHandshakeSeconds: 1765000000, txBytes: 92, rxBytes: 148, persistentKeepalive: 0, allowedIps: ["10.244.12.0/24"] },
        { publicKey: b64(3), presharedKey: b64(9), allowedIps: ["10.244.13.0/24", "fd00:10:244:13::/64"] },
      ],
    });
    expect(() => parseGet("wg0", "errno=19\n\n")).toThrow(/WireGuard device wg0 \(userspace\): get failed with errno 19/);
  });
});
