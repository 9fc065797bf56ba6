// What the kernel knows a pod attachment (container ID + interface) by, shared by the plugin and
// weftd. The host side of a pod's veth is named from its attachment, so DEL and GC find it without
// state even when the pod's namespace is gone. FNV-1a (not a crypto hash): it is cheap to load and run.
import { ipv6ToBigInt } from "./ipv6.js";

export const HOST_VETH_PREFIX = "weft";

export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** "weft" + 8 hex digits: 12 bytes, within the kernel's 15. */
export function hostVethName(containerId: string, ifname: string): string {
  return `${HOST_VETH_PREFIX}${fnv1a32(`${containerId}:${ifname}`).toString(16).padStart(8, "0")}`;
}

/**
 * The pod interface's MAC from its first address: "0a:58:" + the IPv4 address, or + the last four bytes
 * of an IPv6-only pod's address (locally administered, as Kubernetes network plugins commonly do, OVN-
 * Kubernetes for both families): stable for the pod, and known without asking the kernel.
 */
export function podMacFor(ip: string): string {
  const tail = ip.includes(":") ? Number(ipv6ToBigInt(ip) & 0xffffffffn) : ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
  return `0a:58:${[24, 16, 8, 0].map((s) => ((tail >>> s) & 255).toString(16).padStart(2, "0")).join(":")}`;
}

/**
 * weftd's anti-spoofing filter: an nftables bridge-family table that weftd creates, whose set lists
 * each pod's host veth with the one MAC and IPv4 address that pod may send from. The plugin adds a
 * pod's entry at ADD and removes it at DEL; weftd seeds and repairs the set from the IP records.
 */
export const POD_FILTER = { family: "BRIDGE", table: "weft", set: "pod-addresses" } as const;
/** The IPv6 addresses a dual-stack node's pods may send from: port, MAC and address, as for IPv4. */
export const POD_FILTER6 = { family: "BRIDGE", table: "weft", set: "pod-addresses6" } as const;
/**
 * The addresses each pod may name as the target of a neighbour advertisement (its IPv6 and link-local
 * one), with the same keys: a set of its own, since nft (1.0.6) reads the target only as a raw
 * 128-bit payload, which it will not look up in a set typed as IPv6 addresses; the kernel's bytes are the same.
 */
export const POD_ND_TARGETS = { family: "BRIDGE", table: "weft", set: "pod-nd-targets6" } as const;

export interface PodFilterEntry {
  hostVeth: string;
  mac: string;
  /** An IPv4 address, or (in the IPv6 set) an IPv6 one. */
  ip: string;
}

/** The entry of one address of a pod whose MAC comes from `first` (its first address; `ip` by default). */
export function podFilterEntry(a: { containerId: string; ifname: string; ip: string }, first = a.ip): PodFilterEntry {
  return { hostVeth: hostVethName(a.containerId, a.ifname), mac: podMacFor(first), ip: a.ip };
}

/** The link-local address a kernel forms from a MAC (modified EUI-64: fe80::858:aff:fef4:105 for 0a:58:0a:f4:01:05). */
export function linkLocalFor(mac: string): string {
  const b = mac.split(":").map((h) => parseInt(h, 16));
  const groups = [((b[0]! ^ 0x02) << 8) | b[1]!, (b[2]! << 8) | 0xff, (0xfe << 8) | b[3]!, (b[4]! << 8) | b[5]!];
  return `fe80::${groups.map((g) => g.toString(16)).join(":")}`;
}

/**
 * Every address a pod may send from, each with its port and MAC: its IPv4 address; where it has IPv6,
 * its IPv6 address, its link-local address (neighbour discovery, MLD) and the unspecified address
 * (duplicate address detection of the link-local one).
 */
export function podFilterEntries(a: { containerId: string; ifname: string; ipv4?: string; ipv6?: string }): PodFilterEntry[] {
  const hostVeth = hostVethName(a.containerId, a.ifname);
  const mac = podMacFor(a.ipv4 ?? a.ipv6 ?? "");
  const v6 = a.ipv6 ? [a.ipv6, linkLocalFor(mac), "::"] : [];
  return [...(a.ipv4 ? [a.ipv4] : []), ...v6].map((ip) => ({ hostVeth, mac, ip }));
}

/** Of a pod's entries, those it may advertise: its IPv6 ones but :: (a source for DAD, never a neighbour). */
export const ndTargetEntries = (entries: readonly PodFilterEntry[]): PodFilterEntry[] => entries.filter((e) => e.ip.includes(":") && e.ip !== "::");
