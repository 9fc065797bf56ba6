import { describe, expect, it } from "vitest";
import type { Lease } from "../../../ipam/subnet-manager.js";
import { desiredPeers, peerFor, peersByKey, planPeers, type PeerContext } from "./wireguard-plan.js";

const key = (n: number): string => Buffer.alloc(32, n).toString("base64");
const lease = (n: number, opts: { key?: string; port?: number; v6?: boolean; expires?: number } = {}): Lease => ({
  backendType: "wireguard",
  vni: 0,
  expiresAt: new Date(opts.expires ?? 0),
  ipv4: { subnet: `10.244.${n}.0/24`, publicIp: `192.168.56.${n}`, wireguard: { publicKey: opts.key ?? key(n), ...(opts.port === 0 ? {} : { port: opts.port ?? 51820 }) } },
  ...(opts.v6 ? { ipv6: { subnet: `fd00:10:244:${n}::/64`, publicIp: `fd00:56::${n}`, wireguard: { publicKey: opts.key ?? key(n), port: 51821 } } } : {}),
});
const own = lease(11, { v6: true });
const v4: PeerContext = { families: [4], mode: "separate", listenPort: { 4: 51820, 6: 51821 }, keepalive: 0, own: { ipv4: "192.168.56.11" } };

describe("WireGuard peers from leases", () => {
  it("makes a peer per other node: its key, its address and port, its subnet; never one for this node", () => {
    const peers = desiredPeers([own, lease(12), lease(13, { v6: true })], own, v4);
    expect([...peers.values()]).toEqual([
      { publicKey: key(12), endpoint: "192.168.56.12:51820", allowedIps: ["10.244.12.0/24"], persistentKeepalive: 0 },
      { publicKey: key(13), endpoint: "192.168.56.13:51820", allowedIps: ["10.244.13.0/24"], persistentKeepalive: 0 },
    ]);
    // Separate mode's IPv6 device: the IPv6 parts alone, dialled over IPv6 at the lease's V6 port.
    const v6 = desiredPeers([own, lease(12), lease(13, { v6: true })], own, { ...v4, families: [6] });
    expect([...v6.values()]).toEqual([{ publicKey: key(13), endpoint: "[fd00:56::13]:51821", allowedIps: ["fd00:10:244:13::/64"], persistentKeepalive: 0 }]);
  });

  it("dials a lease without Port (older flannel) at this node's own port; adds the PSK and keepalive", () => {
    expect(peerFor(lease(12, { port: 0 }), { ...v4, listenPort: { 4: 51999, 6: 51821 }, psk: key(99), keepalive: 25 })).toEqual({ publicKey: key(12), endpoint: "192.168.56.12:51999", allowedIps: ["10.244.12.0/24"], persistentKeepalive: 25, presharedKey: key(99) });
  });

  it("in one-device modes carries both subnets and picks the endpoint's family as flannel does", () => {
    const both = { ...v4, families: [4, 6] as (4 | 6)[] };
    expect(peerFor(lease(13, { v6: true }), { ...both, mode: "ipv6" })).toMatchObject({ endpoint: "[fd00:56::13]:51821", allowedIps: ["10.244.13.0/24", "fd00:10:244:13::/64"] });
    expect(peerFor(lease(13, { v6: true }), { ...both, mode: "ipv4" })?.endpoint).toBe("192.168.56.13:51820");
    // auto: both private here, so IPv4, as flannel's selectMode falls back to.
    expect(peerFor(lease(13, { v6: true }), { ...both, mode: "auto" })?.endpoint).toBe("192.168.56.13:51820");
  });

  it("keeps the live lease of two that share a key (a node that moved subnet while the old lease lives on)", () => {
    const peers = desiredPeers([lease(12, { key: key(7), expires: 1000 }), lease(14, { key: key(7), expires: 5000 })], own, v4);
    expect(peers.get(key(7))?.allowedIps).toEqual(["10.244.14.0/24"]);
  });
});

describe("WireGuard peer changes", () => {
  const desired = desiredPeers([lease(12), lease(13)], own, v4);
  it("changes nothing when the device holds what the leases want", () => {
    expect(planPeers(desired, peersByKey([...desired.values()].map((p) => ({ ...p, rxBytes: 5, lastHandshakeSeconds: 9 }))))).toEqual([]);
  });

  it("removes a stale peer (node gone, or its key replaced), sets a new or changed one in full", () => {
    const actual = peersByKey([
      { publicKey: key(12), endpoint: "192.168.56.99:51820", allowedIps: ["10.244.12.0/24"], persistentKeepalive: 0 },
      { publicKey: key(50), endpoint: "192.168.56.50:51820", allowedIps: ["10.244.50.0/24"] },
    ]);
    expect(planPeers(desired, actual)).toEqual([
      { publicKey: key(50), remove: true },
      { publicKey: key(12), endpoint: "192.168.56.12:51820", presharedKey: "", persistentKeepalive: 0, replaceAllowedIps: true, allowedIps: ["10.244.12.0/24"] },
      { publicKey: key(13), endpoint: "192.168.56.13:51820", presharedKey: "", persistentKeepalive: 0, replaceAllowedIps: true, allowedIps: ["10.244.13.0/24"] },
    ]);
    // While etcd's view is not trusted for removals, nothing is removed.
    expect(planPeers(desired, actual, true).some((c) => c.remove)).toBe(false);
  });

  it("one lease's key change is that peer's removal and the new key's addition", () => {
    const before = desiredPeers([lease(12)], own, v4);
    const after = desiredPeers([lease(12, { key: key(42) })], own, v4);
    expect(planPeers(after, before).map((c) => [c.publicKey, c.remove ?? false])).toEqual([
      [key(12), true],
      [key(42), false],
    ]);
  });
});
