// IPv6 neighbour advertisements made by hand inside a namespace (socat over a raw ICMPv6 socket: the
// kernel fills in the checksum) and counted where they arrive (nftables counters of the test's own):
// what a pod can tell its neighbours, and what reaches them.
import { execFileSync } from "node:child_process";
import { ipv6ToBigInt } from "../../ipam/ipv6.js";
import { run } from "./netns.js";

const hex128 = (ip: string): string => ipv6ToBigInt(ip).toString(16).padStart(32, "0");

/** An unsolicited advertisement with the override flag: "`target` is at `mac`", replacing what a neighbour had. */
export function neighbourAdvert(target: string, mac: string): Buffer {
  const m = Buffer.alloc(32);
  m[0] = 136; // type; code 0; the checksum is the kernel's
  m[4] = 0x20; // override; not solicited, not a router
  Buffer.from(hex128(target), "hex").copy(m, 8);
  m[24] = 2; // the target link-layer address option, 8 bytes long
  m[25] = 1;
  Buffer.from(mac.replaceAll(":", ""), "hex").copy(m, 26);
  return m;
}

/** Sends an ICMPv6 message from `netns`, `from` one of its addresses, with the hop limit of 255 that neighbour discovery requires. */
export function sendIcmpv6(netns: string, from: string, to: string, message: Buffer): void {
  execFileSync("ip", ["netns", "exec", netns, "socat", "-u", "STDIN", `IP6-SENDTO:[${to}]:58,bind=[${from}],ipv6-unicast-hops=255`], { input: message, stdio: ["pipe", "ignore", "pipe"] });
}

/**
 * Counts the neighbour advertisements from MAC `from` that reach `netns`'s own stack, one counter per
 * target address (table ip6 ndwatch): what really arrived, whatever the sender sent.
 */
export function watchNeighbourAdverts(netns: string, from: string, targets: string[]): { count: (target: string) => number; remove: () => void } {
  const nft = (args: string[], input?: string): string => run("ip", ["netns", "exec", netns, "nft", ...args], input);
  const name = (target: string): string => `na-${hex128(target)}`;
  const counters = targets.map((t) => `  counter ${name(t)} { }\n`).join("");
  const rules = targets.map((t) => `    ether saddr ${from} icmpv6 type nd-neighbor-advert @th,64,128 0x${hex128(t)} counter name ${name(t)}\n`).join("");
  nft(["-f", "-"], `table ip6 ndwatch {\n${counters}  chain input {\n    type filter hook input priority 0; policy accept;\n${rules}  }\n}\n`);
  return {
    count: (target) => (JSON.parse(nft(["-j", "list", "counter", "ip6", "ndwatch", name(target)])) as { nftables: { counter?: { packets: number } }[] }).nftables.find((i) => i.counter)?.counter?.packets ?? -1,
    remove: () => void nft(["delete", "table", "ip6", "ndwatch"]),
  };
}
