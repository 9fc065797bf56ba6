// WG_CMD_SET_DEVICE on bytes laid out by hand from linux/wireguard.h, and the split of a large
// configuration over several messages, read back with the GET_DEVICE parser (same attribute tree).
import { describe, expect, it } from "vitest";
import type { WgDeviceConfig, WgPeerConfig } from "../wireguard-types.js";
import { attrU32, parseAttributeList, parseAttributes } from "./attributes.js";
import { NLM_F, NLMSG_HDRLEN } from "./constants.js";
import { parseGenlPayload } from "./genetlink.js";
import type { Request } from "./request.js";
import { parseDeviceMessages, WGDEVICE_A, WGDEVICE_F_REPLACE_PEERS, WGPEER_A, WGPEER_F } from "./wireguard.js";
import { buildSetDevice, SET_MESSAGE_BUDGET } from "./wireguard-set.js";
import { WireguardConfigError } from "./wireguard-values.js";

const bytes = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ""), "hex");
const key = (byte: number): string => Buffer.alloc(32, byte).toString("base64");
const messageLength = (req: Request): number => NLMSG_HDRLEN + req.body.length;
const deviceAttrs = (req: Request): Map<number, Buffer> => parseAttributes(parseGenlPayload(req.body).attrs);
const peersOf = (req: Request): Map<number, Buffer>[] => {
  const nest = deviceAttrs(req).get(WGDEVICE_A.PEERS);
  return nest ? parseAttributeList(nest).map((p) => parseAttributes(p.payload)) : [];
};

describe("WG_CMD_SET_DEVICE", () => {
  it("writes the device's fields and a peer with every attribute, nests flagged NLA_F_NESTED", () => {
    const config: WgDeviceConfig = {
      privateKey: key(0xaa),
      listenPort: 51820,
      replacePeers: true,
      peers: [{ publicKey: key(0x11), replaceAllowedIps: true, endpoint: "192.0.2.1:51820", persistentKeepalive: 25, allowedIps: ["10.244.1.0/24"] }],
    };
    const [req, ...more] = buildSetDevice(0x1b, "wg0", config);
    expect(more).toEqual([]);
    expect(req?.type).toBe(0x1b);
    expect(req?.flags).toBe(NLM_F.REQUEST | NLM_F.ACK);
    const expected = bytes(`
      01010000
      08000200 77673000
      24000300 ${"aa".repeat(32)}
      06000600 6cca 0000
      08000500 01000000
      70000880
        6c000080
          24000100 ${"11".repeat(32)}
          08000300 02000000
          14000400 0200 ca6c c0000201 0000000000000000
          06000500 1900 0000
          20000980
            1c000080
              06000100 0200 0000
              08000200 0af40100
              05000300 18 000000
    `);
    expect(req?.body.toString("hex")).toBe(expected.toString("hex"));
  });

  it("removes a peer with its key and REMOVE_ME alone, and an empty preshared key as 32 zero bytes", () => {
    const [req] = buildSetDevice(0x1b, "wg0", {
      peers: [
        { publicKey: key(0x11), remove: true, endpoint: "192.0.2.1:1", allowedIps: ["10.0.0.0/8"] },
        { publicKey: key(0x22), presharedKey: "" },
      ],
    });
    const expected = bytes(`
      01010000
      08000200 77673000
      80000880
        30000080
          24000100 ${"11".repeat(32)}
          08000300 01000000
        4c000180
          24000100 ${"22".repeat(32)}
          24000200 ${"00".repeat(32)}
    `);
    expect(req?.body.toString("hex")).toBe(expected.toString("hex"));
  });

  it("names the device and the peer of a value it refuses", () => {
    const set = (peer: WgPeerConfig): Request[] => buildSetDevice(0x1b, "wg0", { peers: [{ publicKey: key(1) }, peer] });
    expect(() => set({ publicKey: "nope" })).toThrow(/wireguard device "wg0": invalid public key of peer #1 "nope"/);
    expect(() => set({ publicKey: key(2), endpoint: "192.0.2.1" })).toThrow(/invalid endpoint of peer #1/);
    expect(() => set({ publicKey: key(2), allowedIps: ["10.0.0.1/40"] })).toThrow(/invalid allowed IP of peer #1 "10.0.0.1\/40"/);
    expect(() => set({ publicKey: key(2), persistentKeepalive: 70000 })).toThrow(WireguardConfigError);
    expect(() => buildSetDevice(0x1b, "wg0", { listenPort: -1 })).toThrow(/invalid listen port/);
    expect(() => buildSetDevice(0x1b, "wg0", { privateKey: key(1).slice(1) })).toThrow(/invalid private key/);
  });
});

// 3 peers × 60 allowed IPs (v4 and v6 alternating): several kilobytes, more than one small message.
const bigConfig = (): WgDeviceConfig => ({
  privateKey: key(0xaa),
  listenPort: 51820,
  replacePeers: true,
  peers: [1, 2, 3].map((n) => ({
    publicKey: key(n),
    presharedKey: key(0x40 + n),
    endpoint: `192.0.2.${n}:51820`,
    persistentKeepalive: 25,
    replaceAllowedIps: true,
    allowedIps: Array.from({ length: 60 }, (_, i) => (i % 2 ? `fd00:${n}:${i}::/64` : `10.${n}.${i}.0/24`)),
  })),
});

describe("WG_CMD_SET_DEVICE split over messages", () => {
  it("keeps every message within the budget and reads back as the whole configuration", () => {
    const config = bigConfig();
    const reqs = buildSetDevice(0x1b, "wg0", config, 1024);
    expect(reqs.length).toBeGreaterThan(5);
    for (const req of reqs) expect(messageLength(req)).toBeLessThanOrEqual(1024);
    const device = parseDeviceMessages(reqs.map((r) => r.body));
    expect(device.listenPort).toBe(51820);
    expect(device.peers.map((p) => ({ publicKey: p.publicKey, allowedIps: p.allowedIps, endpoint: p.endpoint }))).toEqual(
      config.peers!.map((p) => ({ publicKey: p.publicKey, allowedIps: p.allowedIps, endpoint: p.endpoint })),
    );
  });

  it("puts the device's fields and REPLACE_PEERS in the first message only, REPLACE_ALLOWEDIPS on a peer's first part only", () => {
    const reqs = buildSetDevice(0x1b, "wg0", bigConfig(), 1024);
    const [head, ...rest] = reqs.map(deviceAttrs);
    expect(attrU32(head?.get(WGDEVICE_A.FLAGS))).toBe(WGDEVICE_F_REPLACE_PEERS);
    expect(head?.has(WGDEVICE_A.PRIVATE_KEY)).toBe(true);
    for (const attrs of rest) {
      expect([...attrs.keys()].sort()).toEqual([WGDEVICE_A.IFNAME, WGDEVICE_A.PEERS]);
    }
    const seen = new Set<string>();
    for (const peer of reqs.flatMap(peersOf)) {
      const pub = peer.get(WGPEER_A.PUBLIC_KEY)!.toString("hex");
      const firstPart = !seen.has(pub);
      seen.add(pub);
      expect(attrU32(peer.get(WGPEER_A.FLAGS)), pub).toBe(firstPart ? WGPEER_F.REPLACE_ALLOWEDIPS : undefined);
      expect(peer.has(WGPEER_A.ENDPOINT)).toBe(firstPart);
      expect(peer.has(WGPEER_A.PRESHARED_KEY)).toBe(firstPart);
    }
    expect(seen.size).toBe(3);
  });

  it("counts sizes exactly: a budget of the message's length sends one, a byte less splits it", () => {
    const config = bigConfig();
    const [whole, ...none] = buildSetDevice(0x1b, "wg0", config);
    expect(none).toEqual([]);
    const length = messageLength(whole!);
    expect(buildSetDevice(0x1b, "wg0", config, length)).toHaveLength(1);
    const split = buildSetDevice(0x1b, "wg0", config, length - 1);
    expect(split).toHaveLength(2);
    for (const req of split) expect(messageLength(req)).toBeLessThanOrEqual(length - 1);
  });

  it("keeps a thousand peers' nests inside the u16 attribute length", () => {
    const peerKey = (n: number): string => Buffer.alloc(32, 0xff).fill(n % 256, 0, 1).fill(n >> 8, 1, 2).toString("base64");
    const peers = Array.from({ length: 1000 }, (_, n) => ({ publicKey: peerKey(n), allowedIps: [`10.${n >> 8}.${n % 256}.0/24`, `fd00:1:${(n + 1).toString(16)}::/64`] }));
    const reqs = buildSetDevice(0x1b, "wg0", { replacePeers: true, peers });
    expect(reqs.length).toBeGreaterThan(1);
    for (const req of reqs) expect(messageLength(req)).toBeLessThanOrEqual(SET_MESSAGE_BUDGET);
    expect(parseDeviceMessages(reqs.map((r) => r.body)).peers.map((p) => p.allowedIps)).toEqual(peers.map((p) => p.allowedIps));
  });

  it("refuses a budget that cannot hold one peer, or that a nest length cannot express", () => {
    expect(() => buildSetDevice(0x1b, "wg0", bigConfig(), 120)).toThrow(RangeError);
    expect(() => buildSetDevice(0x1b, "wg0", {}, 70_000)).toThrow(RangeError);
  });
});
