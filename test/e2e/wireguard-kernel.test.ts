// Generic netlink and kernel WireGuard control against the running kernel, in a throwaway namespace.
// Family lookups are read-only and checked against `genl ctrl list`. Where the kernel has no
// WireGuard module, opening kernel control must refuse with WireguardUnavailableError; where it has
// one, a WireGuard link in the test namespace is configured and read back, and checked with `wg`.
import { createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lookupGenericFamily, NotFoundError, openKernelWireguard, WireguardUnavailableError, type WireguardControl } from "../../netlink/index.js";
import { NetnsPool, netnsPath, run, uniqueName } from "../helpers/netns.js";

const pool = new NetnsPool("wg");
let ns: string;

beforeAll(() => {
  ns = pool.create();
});

afterAll(() => pool.cleanup());

interface ListedFamily {
  name: string;
  id: number;
  version: number;
  hdrSize: number;
  maxAttr: number;
  multicastGroups: { name: string; id: number }[];
}

/** `genl ctrl list`, parsed: each family's id line and its named multicast groups. */
function genlCtrlList(netns: string): ListedFamily[] {
  const out = run("ip", ["netns", "exec", netns, "genl", "ctrl", "list"]);
  return out.split(/^Name: /m).slice(1).map((block) => {
    const [name = "", ...lines] = block.split("\n");
    const head = /ID: (0x[0-9a-f]+)\s+Version: (0x[0-9a-f]+)\s+header size: (\d+)\s+max attribs: (\d+)/.exec(block);
    if (!head) throw new Error(`unexpected genl output for ${name}: ${block}`);
    const multicastGroups = lines.flatMap((l) => {
      const g = /#\d+:\s+ID-(0x[0-9a-f]+)\s+name: (\S+)/.exec(l);
      return g ? [{ name: g[2]!, id: Number(g[1]) }] : [];
    });
    return { name: name.trim(), id: Number(head[1]), version: Number(head[2]), hdrSize: Number(head[3]), maxAttr: Number(head[4]), multicastGroups };
  });
}

const openFds = (): number => readdirSync("/proc/self/fd").length;

describe("generic netlink families", () => {
  it("resolves every family the controller lists, as `genl ctrl list` reports it", () => {
    const listed = genlCtrlList(ns);
    expect(listed.map((f) => f.name)).toContain("nlctrl");
    for (const family of listed) expect(lookupGenericFamily(family.name, netnsPath(ns)), family.name).toEqual(family);
  });

  it("answers NotFoundError, naming the family, for one no module registered", () => {
    expect(() => lookupGenericFamily("weft-no-such", netnsPath(ns))).toThrow(NotFoundError);
    expect(() => lookupGenericFamily("weft-no-such", netnsPath(ns))).toThrow(/generic netlink family "weft-no-such" in .*ENOENT/);
  });
});

const wireguardFamilyExists = ((): boolean => {
  try {
    lookupGenericFamily("wireguard");
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
})();

describe.runIf(!wireguardFamilyExists)("kernel WireGuard on a kernel without the module", () => {
  it("refuses with WireguardUnavailableError saying what to do, and leaves no socket open", () => {
    const before = openFds();
    expect(() => openKernelWireguard({ netnsPath: netnsPath(ns) })).toThrow(WireguardUnavailableError);
    expect(() => openKernelWireguard()).toThrow(/kernel has no "wireguard" generic netlink family.*modprobe wireguard.*wireguard-go/);
    try {
      openKernelWireguard({ netnsPath: netnsPath(ns) });
      expect.unreachable("kernel WireGuard opened without the module");
    } catch (err) {
      expect(err).toBeInstanceOf(WireguardUnavailableError);
      expect((err as WireguardUnavailableError).netnsPath).toBe(netnsPath(ns));
      expect((err as Error).message).toContain(netnsPath(ns));
    }
    expect(openFds()).toBe(before);
  });
});

/** A private key as `wg genkey` makes it (clamped, which is how the kernel stores it) and its public key. */
function keyPair(): { privateKey: string; publicKey: string } {
  const d = randomBytes(32);
  d[0]! &= 248;
  d[31] = (d[31]! & 127) | 64;
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b656e04220420", "hex"), d]);
  const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" })).export({ format: "der", type: "spki" });
  return { privateKey: d.toString("base64"), publicKey: spki.subarray(-32).toString("base64") };
}

describe.runIf(wireguardFamilyExists)("kernel WireGuard device", () => {
  const dev = uniqueName("wgt");
  let wg: WireguardControl;

  beforeAll(() => {
    run("ip", ["-n", ns, "link", "add", dev, "type", "wireguard"]);
    wg = openKernelWireguard({ netnsPath: netnsPath(ns) });
  });

  // The link goes with the test namespace, which the file's afterAll deletes in every outcome.
  afterAll(() => wg?.close());

  const wgDump = (): string[][] => run("ip", ["netns", "exec", ns, "wg", "show", dev, "dump"]).trim().split("\n").map((l) => l.split("\t"));

  it("configures keys, port and a peer, and reads them back as the kernel and `wg` see them", async () => {
    const me = keyPair();
    const peer = keyPair();
    const psk = randomBytes(32).toString("base64");
    await wg.configureDevice(dev, {
      privateKey: me.privateKey,
      listenPort: 51820,
      replacePeers: true,
      peers: [{ publicKey: peer.publicKey, presharedKey: psk, endpoint: "192.0.2.1:51821", persistentKeepalive: 25, allowedIps: ["10.244.1.0/24", "fd00:10:244:1::/64"] }],
    });
    const device = await wg.getDevice(dev);
    expect(device).toMatchObject({ name: dev, privateKey: me.privateKey, publicKey: me.publicKey, listenPort: 51820 });
    expect(device.peers).toEqual([
      expect.objectContaining({ publicKey: peer.publicKey, presharedKey: psk, endpoint: "192.0.2.1:51821", persistentKeepalive: 25, allowedIps: ["10.244.1.0/24", "fd00:10:244:1::/64"] }),
    ]);
    const [iface, seenPeer] = wgDump();
    expect(iface?.slice(0, 3)).toEqual([me.privateKey, me.publicKey, "51820"]);
    expect(seenPeer?.slice(0, 4)).toEqual([peer.publicKey, psk, "192.0.2.1:51821", "10.244.1.0/24,fd00:10:244:1::/64"]);
  });

  it("removes a peer, clears a preshared key and replaces allowed IPs", async () => {
    const a = keyPair();
    const b = keyPair();
    await wg.configureDevice(dev, { replacePeers: true, peers: [{ publicKey: a.publicKey, presharedKey: randomBytes(32).toString("base64"), allowedIps: ["10.0.1.0/24"] }, { publicKey: b.publicKey, allowedIps: ["10.0.2.0/24"] }] });
    await wg.configureDevice(dev, { peers: [{ publicKey: b.publicKey, remove: true }, { publicKey: a.publicKey, presharedKey: "", replaceAllowedIps: true, allowedIps: ["10.0.3.0/24"] }] });
    const { peers } = await wg.getDevice(dev);
    expect(peers).toEqual([{ publicKey: a.publicKey, allowedIps: ["10.0.3.0/24"], lastHandshakeSeconds: 0, rxBytes: 0, txBytes: 0 }]);
  });

  it("applies and reads back a configuration too large for one message", async () => {
    const peers = Array.from({ length: 300 }, (_, n) => ({
      publicKey: keyPair().publicKey,
      allowedIps: [`10.${n >> 8}.${n & 255}.0/24`, `10.${100 + (n >> 8)}.${n & 255}.0/24`, `fd00:1:${(n + 1).toString(16)}::/64`],
    }));
    await wg.configureDevice(dev, { replacePeers: true, peers });
    const device = await wg.getDevice(dev);
    expect(device.peers.map((p) => ({ publicKey: p.publicKey, allowedIps: p.allowedIps }))).toEqual(peers);
    expect(wgDump()).toHaveLength(1 + peers.length);
  });

  it("answers NotFoundError for a missing link and for a link that is not WireGuard", async () => {
    await expect(wg.getDevice("nosuch0")).rejects.toThrow(NotFoundError);
    await expect(wg.getDevice("lo")).rejects.toThrow(/read wireguard device "lo" in .*not a WireGuard device/);
    await expect(wg.configureDevice("nosuch0", { listenPort: 1 })).rejects.toThrow(/configure wireguard device "nosuch0"/);
  });
});
