// What a WireGuard device should hold for the other nodes' leases, and the change that takes the
// device there (pure). A peer per remote lease: its public key, its endpoint (public address and
// port), its subnets as allowed IPs. A peer whose node left or changed its key is removed: stale
// peers are what flannel leaves behind.
import type { WireguardMode } from "../../../ipam/backend-config.js";
import { leaseName, leasePart, type Family, type Lease } from "../../../ipam/subnet-manager.js";
import type { WgPeer, WgPeerConfig } from "../../../netlink/wireguard-types.js";

export interface PeerContext {
  /** The families whose subnets this device carries: one in separate mode, every one of the network otherwise. */
  families: Family[];
  mode: WireguardMode;
  /** This node's listen port of each family: a lease without Port (older flannel) means ours. */
  listenPort: Record<Family, number>;
  psk?: string;
  keepalive: number;
  /** This node's own addresses of each family (for auto mode's choice of endpoint). */
  own: { ipv4?: string; ipv6?: string };
}

const endpointOf = (ip: string, port: number): string => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);

function isPrivate(ip: string): boolean {
  if (ip.includes(":")) return /^f[cd]/i.test(ip);
  const [a, b] = ip.split(".").map(Number) as [number, number];
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/**
 * The family whose address a one-device (non-separate) peer is dialled at, as flannel chooses it in
 * auto mode: IPv4 unless the node has no IPv4 part, or only IPv6 is public on both sides.
 */
function endpointFamily(l: Lease, ctx: PeerContext): Family {
  if (ctx.mode === "ipv6" || (ctx.mode === "auto" && !l.ipv4)) return 6;
  if (ctx.mode !== "auto" || !l.ipv6 || !l.ipv4) return 4;
  if (!isPrivate(l.ipv4.publicIp) && ctx.own.ipv4) return 4;
  if (!isPrivate(l.ipv6.publicIp) && ctx.own.ipv6 && !isPrivate(ctx.own.ipv6)) return 6;
  return 4;
}

/** The peer a remote lease makes on a device carrying `ctx.families`; undefined when it has nothing here. */
export function peerFor(l: Lease, ctx: PeerContext): WgPeer | undefined {
  const parts = ctx.families.flatMap((f) => {
    const p = leasePart(l, f);
    return p?.wireguard ? [{ f, p, wg: p.wireguard }] : [];
  });
  if (!parts.length) return undefined;
  const dial = ctx.families.length === 1 ? parts[0] : (parts.find((x) => x.f === endpointFamily(l, ctx)) ?? parts[0]);
  if (!dial) return undefined;
  return {
    publicKey: (parts[parts.length - 1] ?? dial).wg.publicKey,
    endpoint: endpointOf(dial.p.publicIp, dial.wg.port ?? ctx.listenPort[dial.f]),
    allowedIps: parts.map((x) => x.p.subnet),
    persistentKeepalive: ctx.keepalive,
    ...(ctx.psk ? { presharedKey: ctx.psk } : {}),
  };
}

/**
 * Every remote lease's peer, by public key. Two leases with one key (a node that moved to a new
 * subnet while its old lease lives on) would fight over the key: the later-expiring one, the live one, wins.
 */
export function desiredPeers(leases: Lease[], own: Lease, ctx: PeerContext): Map<string, WgPeer> {
  const byKey = new Map<string, { peer: WgPeer; expires: number }>();
  const ownKey = peerFor(own, ctx)?.publicKey;
  for (const l of leases) {
    if (leaseName(l) === leaseName(own)) continue;
    const peer = peerFor(l, ctx);
    if (!peer || peer.publicKey === ownKey) continue;
    const seen = byKey.get(peer.publicKey);
    if (!seen || l.expiresAt.getTime() > seen.expires) byKey.set(peer.publicKey, { peer, expires: l.expiresAt.getTime() });
  }
  return new Map([...byKey].map(([k, v]) => [k, v.peer]));
}

const sorted = (a: string[]): string => [...a].sort().join(",");

function samePeer(a: WgPeer, b: WgPeer): boolean {
  return a.endpoint === b.endpoint && sorted(a.allowedIps) === sorted(b.allowedIps) && (a.presharedKey ?? "") === (b.presharedKey ?? "") && (a.persistentKeepalive ?? 0) === (b.persistentKeepalive ?? 0);
}

/** The peer changes from `actual` to `desired`: removals (unless held), then additions and updates. */
export function planPeers(desired: Map<string, WgPeer>, actual: Map<string, WgPeer>, removalsHeld = false): WgPeerConfig[] {
  const changes: WgPeerConfig[] = [];
  if (!removalsHeld) for (const key of actual.keys()) if (!desired.has(key)) changes.push({ publicKey: key, remove: true });
  for (const [key, want] of desired) {
    const have = actual.get(key);
    if (have && samePeer(have, want)) continue;
    changes.push({
      publicKey: key,
      ...(want.endpoint ? { endpoint: want.endpoint } : {}),
      presharedKey: want.presharedKey ?? "",
      persistentKeepalive: want.persistentKeepalive ?? 0,
      replaceAllowedIps: true,
      allowedIps: want.allowedIps,
    });
  }
  return changes;
}

/** A device's peers by key (what `getDevice` read). */
export const peersByKey = (peers: WgPeer[]): Map<string, WgPeer> => new Map(peers.map((p) => [p.publicKey, p]));
