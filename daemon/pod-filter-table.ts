// The anti-spoofing table as nft writes and lists it (pure): its sets, counters and chains, each
// element's text, and the table read back from `nft -j`. What the rules allow is weft's whole policy
// for what a pod may send; pod-filter.ts keeps the table in place and its sets in step with the pods.
import { HOST_VETH_PREFIX, ndTargetEntries, POD_FILTER, POD_FILTER6, POD_ND_TARGETS, type PodFilterEntry } from "../ipam/attachment.js";
import { ipv4ToInt } from "../ipam/ipv4.js";
import { bigIntToIpv6, canonicalIpv6, ipv6ToBigInt } from "../ipam/ipv6.js";

export const TABLE = POD_FILTER.table;
const SET = POD_FILTER.set;
const SET6 = POD_FILTER6.set;
const TARGETS = POD_ND_TARGETS.set;
/** Ports weftd found running with no IP record and no entry: accepted unfiltered, never cut off. */
const UNVERIFIED = "unverified-ports";
export const DROP_COUNTER = "spoofed";
/** Frames that are neither IPv4 nor ARP (a pod's IPv6 neighbour discovery, for one): dropped, counted, not a warning. */
export const OTHER_COUNTER = "not-ipv4";
const HOOK_CHAIN = "prerouting";
const POD_CHAIN = "from-pod";

/**
 * The rules of each chain, as written (and counted to notice a chain someone flushed). `ipv6`:
 * the node's pods (dual-stack or IPv6-only) send IPv6, each from its own addresses (the IPv6 set: its address,
 * its link-local address, and :: for duplicate address detection); a neighbour advertisement passes
 * only for a target that is one of the pod's own addresses (the ICMPv6 body's Target Address, 8 bytes
 * in: a pod answering for another's address poisons its neighbours as forged ARP does); router
 * advertisements and redirects from pods are dropped whatever their source.
 */
export function rulesFor(ipv6: boolean): Record<string, string[]> {
  return {
    [HOOK_CHAIN]: [`iifname "${HOST_VETH_PREFIX}*" jump ${POD_CHAIN}`],
    [POD_CHAIN]: [
      `iifname @${UNVERIFIED} return`,
      `ether type ip iifname . ether saddr . ip saddr @${SET} return`,
      // Only well-formed Ethernet/IPv4 ARP: the sender address is read at a fixed offset.
      `ether type arp arp htype 1 arp ptype ip arp hlen 6 arp plen 4 iifname . ether saddr . arp saddr ip @${SET} return`,
      `ether type { ip, arp } counter name "${DROP_COUNTER}" drop`,
      ...(ipv6
        ? [
            `icmpv6 type { nd-router-advert, nd-redirect } counter name "${DROP_COUNTER}" drop`,
            `icmpv6 type nd-neighbor-advert iifname . ether saddr . @th,64,128 != @${TARGETS} counter name "${DROP_COUNTER}" drop`,
            `ether type ip6 iifname . ether saddr . ip6 saddr @${SET6} return`,
            `ether type ip6 counter name "${DROP_COUNTER}" drop`,
          ]
        : []),
      `counter name "${OTHER_COUNTER}" drop`,
    ],
  };
}

/** The table, declared (idempotent), its chains rewritten; the sets and their elements are kept. */
export function podFilterScript(ipv6 = false): string {
  const lines = [
    `table bridge ${TABLE} {`,
    `  set ${SET} { type ifname . ether_addr . ipv4_addr; comment "pod port, MAC and IPv4 address each weft pod may send from"; }`,
    `  set ${SET6} { type ifname . ether_addr . ipv6_addr; comment "pod port, MAC and IPv6 address (its own, link-local and ::) each weft pod with IPv6 may send from"; }`,
    `  set ${TARGETS} { typeof iifname . ether saddr . @th,64,128; comment "pod port, MAC and IPv6 address (its own, link-local) each weft pod may name as a neighbour advertisement's target"; }`,
    `  set ${UNVERIFIED} { type ifname; comment "running pod ports with no IP record to check them against: not filtered (weftd reports them)"; }`,
    `  counter ${DROP_COUNTER} { comment "IPv4 and ARP dropped: not from the port's own pod MAC and address"; }`,
    `  counter ${OTHER_COUNTER} { comment "frames from pods that are neither IPv4 nor ARP, dropped"; }`,
    `  chain ${HOOK_CHAIN} { type filter hook prerouting priority -200; policy accept; }`,
    `  chain ${POD_CHAIN} { }`,
    `}`,
  ];
  for (const [chain, rules] of Object.entries(rulesFor(ipv6))) {
    lines.push(`flush chain bridge ${TABLE} ${chain}`);
    for (const r of rules) lines.push(`add rule bridge ${TABLE} ${chain} ${r}`);
  }
  return `${lines.join("\n")}\n`;
}

/** An element of one of the table's address sets: a pod's entry, or (`ndTarget`) an address it may advertise. */
export type FilterElement = PodFilterEntry & { ndTarget?: true };

/** A pod's elements: its entries, and the entries it may name as a neighbour advertisement's target. */
export const filterElements = (entries: PodFilterEntry[]): FilterElement[] => [...entries, ...ndTargetEntries(entries).map((e) => ({ ...e, ndTarget: true as const }))];

export const VETH = new RegExp(`^${HOST_VETH_PREFIX}[0-9a-f]{8}$`);
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;
/** The targets' set holds 128-bit integers (the raw payload it is looked up with): nft writes them in hex. */
const TARGET_HEX = /^0x[0-9a-f]{1,32}$/;

const isV6 = (e: PodFilterEntry): boolean => e.ip.includes(":");
const setOf = (e: FilterElement): string => (e.ndTarget ? TARGETS : isV6(e) ? SET6 : SET);

/** An element as nft writes it; every part checked first, so nothing else reaches nft. */
export function elementText(e: FilterElement): string {
  if (!VETH.test(e.hostVeth) || !MAC.test(e.mac)) throw new Error(`not a weft pod filter entry: ${JSON.stringify(e)}`);
  if (isV6(e)) {
    if (canonicalIpv6(e.ip) !== e.ip) throw new Error(`not a weft pod filter entry: ${JSON.stringify(e)}`);
  } else if (e.ndTarget) throw new Error(`not a neighbour advertisement target: ${JSON.stringify(e)}`);
  else ipv4ToInt(e.ip);
  const ip = e.ndTarget ? `0x${ipv6ToBigInt(e.ip).toString(16).padStart(32, "0")}` : e.ip;
  return `"${e.hostVeth}" . ${e.mac} . ${ip}`;
}

function portText(port: string): string {
  if (!VETH.test(port)) throw new Error(`not a weft pod port: ${JSON.stringify(port)}`);
  return `"${port}"`;
}

export const elementId = (e: FilterElement): string => `${e.ndTarget ? "nd-target " : ""}${e.hostVeth} ${e.mac} ${e.ip}`;

export function isWellFormed(e: FilterElement): boolean {
  try {
    elementText(e);
    return true;
  } catch {
    return false;
  }
}

/** One statement per set that has elements to change: IPv4 entries, IPv6 entries, advertisement targets, ports. */
export function elementStatements(op: "add" | "delete", elements: FilterElement[], ports: string[] = []): string {
  const line = (set: string, items: string[]): string => (items.length ? `${op} element bridge ${TABLE} ${set} { ${items.join(", ")} }\n` : "");
  const of = (set: string): string[] => elements.filter((e) => setOf(e) === set).map(elementText);
  return line(SET, of(SET)) + line(SET6, of(SET6)) + line(TARGETS, of(TARGETS)) + line(UNVERIFIED, ports.map(portText));
}

export interface PodFilterState {
  entries: FilterElement[];
  /** Ports let through unfiltered. */
  unverified: string[];
  /** Frames dropped for a source (or an advertised target) that is not the port's pod (the drop counter). */
  droppedFrames: number;
  /** Frames dropped for being neither IPv4 nor ARP (nor, on a dual-stack node, IPv6). */
  droppedOther: number;
  /** The table is there and each chain holds its rules. */
  intact: boolean;
}

interface NftJson {
  nftables: Record<string, { name?: string; chain?: string; elem?: (string | { concat?: string[] })[]; packets?: number }>[];
}

/** The table from `nft -j list table`. `intact`: each chain holds the rules of `ipv6`'s mode. */
export function parsePodFilter(json: string, ipv6: boolean): PodFilterState {
  const entries: FilterElement[] = [];
  const unverified: string[] = [];
  const rulesPerChain = new Map<string, number>();
  let droppedFrames = 0;
  let droppedOther = 0;
  for (const item of (JSON.parse(json) as NftJson).nftables) {
    const set = item.set?.name;
    if (set === SET || set === SET6 || set === TARGETS) {
      for (const el of item.set?.elem ?? []) {
        const [hostVeth, mac, ip] = typeof el === "string" ? [] : (el.concat ?? []);
        // A target nft cannot have written stays as listed: not well-formed, so never handed back to nft.
        if (hostVeth && mac && ip && set === TARGETS) entries.push({ hostVeth, mac, ip: TARGET_HEX.test(ip) ? bigIntToIpv6(BigInt(ip)) : ip, ndTarget: true });
        else if (hostVeth && mac && ip) entries.push({ hostVeth, mac, ip });
      }
    }
    if (set === UNVERIFIED) for (const el of item.set?.elem ?? []) if (typeof el === "string") unverified.push(el);
    if (item.rule?.chain) rulesPerChain.set(item.rule.chain, (rulesPerChain.get(item.rule.chain) ?? 0) + 1);
    if (item.counter?.name === DROP_COUNTER) droppedFrames = item.counter.packets ?? 0;
    if (item.counter?.name === OTHER_COUNTER) droppedOther = item.counter.packets ?? 0;
  }
  const intact = Object.entries(rulesFor(ipv6)).every(([chain, rules]) => rulesPerChain.get(chain) === rules.length);
  return { entries, unverified, droppedFrames, droppedOther, intact };
}
