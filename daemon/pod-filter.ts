// The anti-spoofing filter weftd owns (see POD_FILTER): an nftables bridge-family table whose chain
// drops, on weft's pod ports, every frame whose (port, source MAC, source IPv4) is not that pod's entry
// in the set, and every frame that is neither IPv4 nor ARP (weft is IPv4-only; this also keeps a
// pod's IPv6 router advertisements and VLAN-tagged frames from reaching its neighbours).
// The plugin adds and removes entries at ADD and DEL; weftd creates the table, seeds the set from the
// plugin's IP records (pods that existed before the filter), and repairs drift at every resync.
import { HOST_VETH_PREFIX, POD_FILTER, podFilterEntry, type PodFilterEntry } from "../ipam/attachment.js";
import { ipv4ToInt } from "../ipam/ipv4.js";
import type { PodAllocation } from "../ipam/pod-ip-store.js";
import { nftCounterPackets } from "../netlink/index.js";
import { execHere, type Exec } from "./exec.js";
import { UnchangedSinceCheck } from "./ruleset-generation.js";

const T = POD_FILTER.table;
const SET = POD_FILTER.set;
const DROP_COUNTER = "spoofed";
/** Frames that are neither IPv4 nor ARP (a pod's IPv6 neighbour discovery, for one): dropped, counted, not a warning. */
const OTHER_COUNTER = "not-ipv4";
const HOOK_CHAIN = "prerouting";
const POD_CHAIN = "from-pod";

/** The rules of each chain, as written (and counted to notice a chain someone flushed). */
const RULES: Record<string, string[]> = {
  [HOOK_CHAIN]: [`iifname "${HOST_VETH_PREFIX}*" jump ${POD_CHAIN}`],
  [POD_CHAIN]: [
    `ether type ip iifname . ether saddr . ip saddr @${SET} return`,
    // Only well-formed Ethernet/IPv4 ARP: the sender address is read at a fixed offset.
    `ether type arp arp htype 1 arp ptype ip arp hlen 6 arp plen 4 iifname . ether saddr . arp saddr ip @${SET} return`,
    `ether type { ip, arp } counter name "${DROP_COUNTER}" drop`,
    `counter name "${OTHER_COUNTER}" drop`,
  ],
};

/** The table, declared (idempotent), its chains rewritten; the set and its elements are kept. */
export function podFilterScript(): string {
  const lines = [
    `table bridge ${T} {`,
    `  set ${SET} { type ifname . ether_addr . ipv4_addr; comment "pod port, MAC and IPv4 address each weft pod may send from"; }`,
    `  counter ${DROP_COUNTER} { comment "IPv4 and ARP dropped: not from the port's own pod MAC and address"; }`,
    `  counter ${OTHER_COUNTER} { comment "frames from pods that are neither IPv4 nor ARP, dropped"; }`,
    `  chain ${HOOK_CHAIN} { type filter hook prerouting priority -200; policy accept; }`,
    `  chain ${POD_CHAIN} { }`,
    `}`,
  ];
  for (const [chain, rules] of Object.entries(RULES)) {
    lines.push(`flush chain bridge ${T} ${chain}`);
    for (const r of rules) lines.push(`add rule bridge ${T} ${chain} ${r}`);
  }
  return `${lines.join("\n")}\n`;
}

const VETH = new RegExp(`^${HOST_VETH_PREFIX}[0-9a-f]{8}$`);
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

/** An entry as nft writes it; every part checked first, so nothing else reaches nft. */
export function elementText(e: PodFilterEntry): string {
  ipv4ToInt(e.ip);
  if (!VETH.test(e.hostVeth) || !MAC.test(e.mac)) throw new Error(`not a weft pod filter entry: ${JSON.stringify(e)}`);
  return `"${e.hostVeth}" . ${e.mac} . ${e.ip}`;
}

const entryId = (e: PodFilterEntry): string => `${e.hostVeth} ${e.mac} ${e.ip}`;

function isWellFormed(e: PodFilterEntry): boolean {
  try {
    elementText(e);
    return true;
  } catch {
    return false;
  }
}

export interface PodFilterState {
  entries: PodFilterEntry[];
  /** IPv4 and ARP frames dropped for a source that is not the port's pod (the drop counter). */
  droppedFrames: number;
  /** Frames dropped for being neither IPv4 nor ARP. */
  droppedOther: number;
  /** The table is there and each chain holds its rules. */
  intact: boolean;
}

interface NftJson {
  nftables: Record<string, { name?: string; chain?: string; elem?: { concat?: string[] }[]; packets?: number }>[];
}

/** Reads the table; undefined when it does not exist. */
export async function readPodFilter(exec: Exec): Promise<PodFilterState | undefined> {
  let out: string;
  try {
    out = await exec("nft", ["-j", "list", "table", "bridge", T]);
  } catch {
    return undefined;
  }
  const items = (JSON.parse(out) as NftJson).nftables;
  const entries: PodFilterEntry[] = [];
  const rulesPerChain = new Map<string, number>();
  let droppedFrames = 0;
  let droppedOther = 0;
  for (const item of items) {
    if (item.set?.name === SET) {
      for (const el of item.set.elem ?? []) {
        const [hostVeth, mac, ip] = el.concat ?? [];
        if (hostVeth && mac && ip) entries.push({ hostVeth, mac, ip });
      }
    }
    if (item.rule?.chain) rulesPerChain.set(item.rule.chain, (rulesPerChain.get(item.rule.chain) ?? 0) + 1);
    if (item.counter?.name === DROP_COUNTER) droppedFrames = item.counter.packets ?? 0;
    if (item.counter?.name === OTHER_COUNTER) droppedOther = item.counter.packets ?? 0;
  }
  const intact = Object.entries(RULES).every(([chain, rules]) => rulesPerChain.get(chain) === rules.length);
  return { entries, droppedFrames, droppedOther, intact };
}

export interface PodFilterSync {
  entries: number;
  added: number;
  removed: number;
  tableWritten: boolean;
  droppedFrames: number;
  droppedOther: number;
  /** Entries missing or stale at this sync and left for the next one to confirm (pass them back). */
  differing: Set<string>;
}

const addElements = (entries: PodFilterEntry[]): string => (entries.length ? `add element bridge ${T} ${SET} { ${entries.map(elementText).join(", ")} }\n` : "");

/**
 * Makes the table and its set match the pods this node has. The set is read before the IP records:
 * the plugin writes a record before its entry and removes the entry before the record, so an entry
 * seen without a record is a pod that is gone (or going), never one being added. `allocations` are
 * the records as the caller listed them (weftd lists them once per resync, for this and for etcd);
 * `relist` reads them again after a table write.
 *
 * A difference is repaired when the previous sync saw it too (`differedBefore`): a pod's ADD or DEL
 * running between the two reads makes one for a few milliseconds, and racing it either repairs
 * nothing or fails (the DEL removed the entry first, and nft fails a whole transaction for one
 * missing element). A new or repaired table gets every running pod's entry at once.
 */
export async function syncPodFilter(allocations: PodAllocation[], relist: () => PodAllocation[], exec: Exec = execHere, differedBefore: ReadonlySet<string> = new Set()): Promise<PodFilterSync> {
  const state = await readPodFilter(exec);
  const want = new Map(allocations.map((a) => podFilterEntry(a)).map((e) => [entryId(e), e]));
  const have = new Map((state?.entries ?? []).map((e) => [entryId(e), e]));
  const missing = [...want].filter(([id]) => !have.has(id));
  // An element nft could not be told about safely is left alone (only a root user could have put it there).
  const stale = [...have].filter(([id, e]) => !want.has(id) && isWellFormed(e));
  const tableWritten = !state?.intact;
  const confirmed = ([id]: [string, PodFilterEntry]): boolean => differedBefore.has(id);
  const toAdd = (tableWritten ? missing : missing.filter(confirmed)).map(([, e]) => e);
  const toRemove = stale.filter(confirmed).map(([, e]) => e);
  // The table goes in with the pods' entries in one transaction: its rules never see a moment in
  // which a running pod is not listed yet.
  let late: PodFilterEntry[] = [];
  if (tableWritten) {
    await exec("nft", ["-f", "-"], podFilterScript() + addElements(toAdd));
    // A pod whose ADD ran while the table did not exist yet was attached unlisted (the plugin found no
    // set): list the records that appeared meanwhile now, not two resyncs later. Listing a pod that is
    // still being added is harmless (the plugin's own add finds it there).
    late = relist().map((a) => podFilterEntry(a)).filter((e) => !want.has(entryId(e)));
    if (late.length) await exec("nft", ["-f", "-"], addElements(late));
  } else if (toAdd.length) await exec("nft", ["-f", "-"], addElements(toAdd));
  if (toRemove.length) await exec("nft", ["-f", "-"], `delete element bridge ${T} ${SET} { ${toRemove.map(elementText).join(", ")} }\n`);
  const repaired = new Set([...toAdd, ...toRemove].map(entryId));
  const differing = new Set([...missing, ...stale].map(([id]) => id).filter((id) => !repaired.has(id)));
  return { entries: want.size + late.length, added: toAdd.length + late.length, removed: toRemove.length, tableWritten, droppedFrames: state?.droppedFrames ?? 0, droppedOther: state?.droppedOther ?? 0, differing };
}

/** The filter's drop counters, read over netlink (no `nft` process); `netnsPath` for another namespace's table. */
export function readPodFilterCounters(netnsPath?: string): Pick<PodFilterState, "droppedFrames" | "droppedOther"> {
  const [droppedFrames = 0, droppedOther = 0] = nftCounterPackets([DROP_COUNTER, OTHER_COUNTER].map((name) => ({ family: "BRIDGE", table: T, name })), netnsPath);
  return { droppedFrames, droppedOther };
}

/**
 * syncPodFilter at every resync without its read (an `nft` process listing the whole table, its set
 * growing with the node's pods) while nothing changed: skipped while nf_tables' ruleset generation and
 * the pods' entries are those of the last sync that found the table as wanted. Every change to the
 * table moves the generation — the plugin's ADD and DEL, a flushed chain, an entry deleted by hand —
 * and a pod's record comes or goes with its entry. The drop counters, which count without moving the
 * generation, are then read over netlink. Without a generation (or counters) to go by, every sync reads.
 */
export class PodFilterKeeper {
  private readonly since: UnchangedSinceCheck;
  /** Entries that differed at the last sync: repaired if the next one sees them too. */
  private differing: ReadonlySet<string> = new Set();

  constructor(
    generation: (() => number) | undefined,
    private readonly counters: (() => Pick<PodFilterState, "droppedFrames" | "droppedOther">) | undefined,
    private readonly exec: Exec = execHere,
  ) {
    this.since = new UnchangedSinceCheck(generation);
  }

  /** `read`: whether this sync listed the table (false: skipped, only the counters read). */
  async sync(allocations: PodAllocation[], relist: () => PodAllocation[]): Promise<PodFilterSync & { read: boolean }> {
    const want = new Set(allocations.map((a) => entryId(podFilterEntry(a))));
    const key = this.since.key([...want].sort().join(","));
    if (this.since.unchanged(key) && this.counters) {
      try {
        return { entries: want.size, added: 0, removed: 0, tableWritten: false, ...this.counters(), differing: new Set(), read: false };
      } catch {
        // the counters are gone or unreadable: the full read below says what happened to the table
      }
    }
    const r = await syncPodFilter(allocations, relist, this.exec, this.differing);
    this.differing = r.differing;
    this.since.record(key, !r.tableWritten && r.added === 0 && r.removed === 0 && r.differing.size === 0);
    return { ...r, read: true };
  }
}

/** Removes the table (weftd started with the filter off): pods are then attached unfiltered. */
export async function removePodFilter(exec: Exec = execHere): Promise<boolean> {
  if (!(await readPodFilter(exec))) return false;
  await exec("nft", ["delete", "table", "bridge", T]);
  return true;
}
