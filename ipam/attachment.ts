// What the kernel knows a pod attachment (container ID + interface) by, shared by the plugin and
// weftd. The host side of a pod's veth is named from its attachment, so DEL and GC find it without
// state even when the pod's namespace is gone. FNV-1a (not a crypto hash): it is cheap to load and run.
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

/** The pod interface's MAC from its IPv4 address ("0a:58:" + the address, locally administered, as
 *  Kubernetes network plugins commonly do): stable for the pod, and known without asking the kernel. */
export function podMacFor(ip: string): string {
  return `0a:58:${ip
    .split(".")
    .map((o) => Number(o).toString(16).padStart(2, "0"))
    .join(":")}`;
}

/**
 * weftd's anti-spoofing filter: an nftables bridge-family table that weftd creates, whose set lists
 * each pod's host veth with the one MAC and IPv4 address that pod may send from. The plugin adds a
 * pod's entry at ADD and removes it at DEL; weftd seeds and repairs the set from the IP records.
 */
export const POD_FILTER = { family: "BRIDGE", table: "weft", set: "pod-addresses" } as const;

export interface PodFilterEntry {
  hostVeth: string;
  mac: string;
  ip: string;
}

export function podFilterEntry(a: { containerId: string; ifname: string; ip: string }): PodFilterEntry {
  return { hostVeth: hostVethName(a.containerId, a.ifname), mac: podMacFor(a.ip), ip: a.ip };
}
