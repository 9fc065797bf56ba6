// WireGuard devices as `wg show <device> dump` prints them: what the tests assert on, read the way an
// operator reads them (wg talks to the kernel's device or to wireguard-go's UAPI socket alike).
import { spawnSync } from "node:child_process";

export interface WgDump {
  publicKey: string;
  listenPort: number;
  peers: { publicKey: string; presharedKey: string; endpoint: string; allowedIps: string[]; latestHandshake: number; rx: number; tx: number }[];
}

export function wgDump(netns: string, device: string): WgDump | undefined {
  const r = spawnSync("ip", ["netns", "exec", netns, "wg", "show", device, "dump"], { encoding: "utf8" });
  if (r.status !== 0) return undefined;
  const [head, ...rest] = r.stdout.trim().split("\n").map((l) => l.split("\t"));
  return {
    publicKey: head?.[1] ?? "",
    listenPort: Number(head?.[2]),
    peers: rest.map((f) => ({ publicKey: f[0] ?? "", presharedKey: f[1] ?? "", endpoint: f[2] ?? "", allowedIps: (f[3] ?? "").split(",").filter((x) => x && x !== "(none)"), latestHandshake: Number(f[4]), rx: Number(f[5]), tx: Number(f[6]) })),
  };
}

/**
 * The WireGuard devices of a namespace, by name: wg lists every userspace device whose socket is in
 * the shared /var/run/wireguard, so those whose link is not in this namespace are left out.
 */
export function wgDevices(netns: string): string[] {
  const listed = spawnSync("ip", ["netns", "exec", netns, "wg", "show", "interfaces"], { encoding: "utf8" }).stdout.trim().split(/\s+/).filter(Boolean);
  const links = new Set((JSON.parse(spawnSync("ip", ["-j", "-n", netns, "link", "show"], { encoding: "utf8" }).stdout || "[]") as { ifname: string }[]).map((l) => l.ifname));
  return listed.filter((d) => links.has(d)).sort();
}
