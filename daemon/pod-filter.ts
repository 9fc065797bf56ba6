// The anti-spoofing filter weftd owns (see POD_FILTER): an nftables bridge-family table whose chain
// drops, on weft's pod ports, every frame whose (port, source MAC, source IPv4) is not that pod's entry
// in the set, and every frame that is neither IPv4 nor ARP (weft is IPv4-only; this also keeps a
// pod's IPv6 router advertisements and VLAN-tagged frames from reaching its neighbours).
// The plugin adds and removes entries at ADD and DEL; weftd creates the table, seeds the set from the
// plugin's IP records (pods that existed before the filter), and repairs drift at every resync.
// The kernel's ports are the truth of which pods run: an entry is never removed while its port
// exists without an IP record saying otherwise, and a port that has neither a record nor an entry
// is let through unfiltered (and reported) rather than cut off.
import { HOST_VETH_PREFIX, POD_FILTER, POD_FILTER6, podFilterEntries, type PodFilterEntry } from "../ipam/attachment.js";
import { ipv4ToInt } from "../ipam/ipv4.js";
import { canonicalIpv6 } from "../ipam/ipv6.js";
import type { RecordedPod } from "../ipam/pod-ip-store.js";
import { nftCounterPackets } from "../netlink/index.js";
import { execHere, type Exec } from "./exec.js";
import { UnchangedSinceCheck } from "./ruleset-generation.js";

const T = POD_FILTER.table;
const SET = POD_FILTER.set;
const SET6 = POD_FILTER6.set;
/** Ports weftd found running with no IP record and no entry: accepted unfiltered, never cut off. */
const UNVERIFIED = "unverified-ports";
const DROP_COUNTER = "spoofed";
/** Frames that are neither IPv4 nor ARP (a pod's IPv6 neighbour discovery, for one): dropped, counted, not a warning. */
const OTHER_COUNTER = "not-ipv4";
const HOOK_CHAIN = "prerouting";
const POD_CHAIN = "from-pod";

/**
 * The rules of each chain, as written (and counted to notice a chain someone flushed). `dualStack`:
 * a dual-stack node's pods also send IPv6, each from its own addresses (the IPv6 set: its address,
 * its link-local address, and :: for duplicate address detection); router advertisements and
 * redirects from pods are dropped whatever their source.
 */
function rulesFor(dualStack: boolean): Record<string, string[]> {
  return {
    [HOOK_CHAIN]: [`iifname "${HOST_VETH_PREFIX}*" jump ${POD_CHAIN}`],
    [POD_CHAIN]: [
      `iifname @${UNVERIFIED} return`,
      `ether type ip iifname . ether saddr . ip saddr @${SET} return`,
      // Only well-formed Ethernet/IPv4 ARP: the sender address is read at a fixed offset.
      `ether type arp arp htype 1 arp ptype ip arp hlen 6 arp plen 4 iifname . ether saddr . arp saddr ip @${SET} return`,
      `ether type { ip, arp } counter name "${DROP_COUNTER}" drop`,
      ...(dualStack
        ? [
            `icmpv6 type { nd-router-advert, nd-redirect } counter name "${DROP_COUNTER}" drop`,
            `ether type ip6 iifname . ether saddr . ip6 saddr @${SET6} return`,
            `ether type ip6 counter name "${DROP_COUNTER}" drop`,
          ]
        : []),
      `counter name "${OTHER_COUNTER}" drop`,
    ],
  };
}

/** The table, declared (idempotent), its chains rewritten; the sets and their elements are kept. */
export function podFilterScript(dualStack = false): string {
  const lines = [
    `table bridge ${T} {`,
    `  set ${SET} { type ifname . ether_addr . ipv4_addr; comment "pod port, MAC and IPv4 address each weft pod may send from"; }`,
    `  set ${SET6} { type ifname . ether_addr . ipv6_addr; comment "pod port, MAC and IPv6 address (its own, link-local and ::) each weft pod of a dual-stack node may send from"; }`,
    `  set ${UNVERIFIED} { type ifname; comment "running pod ports with no IP record to check them against: not filtered (weftd reports them)"; }`,
    `  counter ${DROP_COUNTER} { comment "IPv4 and ARP dropped: not from the port's own pod MAC and address"; }`,
    `  counter ${OTHER_COUNTER} { comment "frames from pods that are neither IPv4 nor ARP, dropped"; }`,
    `  chain ${HOOK_CHAIN} { type filter hook prerouting priority -200; policy accept; }`,
    `  chain ${POD_CHAIN} { }`,
    `}`,
  ];
  for (const [chain, rules] of Object.entries(rulesFor(dualStack))) {
    lines.push(`flush chain bridge ${T} ${chain}`);
    for (const r of rules) lines.push(`add rule bridge ${T} ${chain} ${r}`);
  }
  return `${lines.join("\n")}\n`;
}

const VETH = new RegExp(`^${HOST_VETH_PREFIX}[0-9a-f]{8}$`);
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

const isV6 = (e: PodFilterEntry): boolean => e.ip.includes(":");

/** An entry as nft writes it; every part checked first, so nothing else reaches nft. */
export function elementText(e: PodFilterEntry): string {
  if (!VETH.test(e.hostVeth) || !MAC.test(e.mac)) throw new Error(`not a weft pod filter entry: ${JSON.stringify(e)}`);
  if (isV6(e)) {
    if (canonicalIpv6(e.ip) !== e.ip) throw new Error(`not a weft pod filter entry: ${JSON.stringify(e)}`);
  } else ipv4ToInt(e.ip);
  return `"${e.hostVeth}" . ${e.mac} . ${e.ip}`;
}

function portText(port: string): string {
  if (!VETH.test(port)) throw new Error(`not a weft pod port: ${JSON.stringify(port)}`);
  return `"${port}"`;
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
  /** Ports let through unfiltered. */
  unverified: string[];
  /** IPv4 and ARP frames dropped for a source that is not the port's pod (the drop counter). */
  droppedFrames: number;
  /** Frames dropped for being neither IPv4 nor ARP. */
  droppedOther: number;
  /** The table is there and each chain holds its rules. */
  intact: boolean;
}

interface NftJson {
  nftables: Record<string, { name?: string; chain?: string; elem?: (string | { concat?: string[] })[]; packets?: number }>[];
}

/** Reads the table; undefined when it does not exist. `intact`: each chain holds the rules of `dualStack`'s mode. */
export async function readPodFilter(exec: Exec, dualStack = false): Promise<PodFilterState | undefined> {
  let out: string;
  try {
    out = await exec("nft", ["-j", "list", "table", "bridge", T]);
  } catch {
    return undefined;
  }
  const items = (JSON.parse(out) as NftJson).nftables;
  const entries: PodFilterEntry[] = [];
  const unverified: string[] = [];
  const rulesPerChain = new Map<string, number>();
  let droppedFrames = 0;
  let droppedOther = 0;
  for (const item of items) {
    if (item.set?.name === SET || item.set?.name === SET6) {
      for (const el of item.set.elem ?? []) {
        const [hostVeth, mac, ip] = typeof el === "string" ? [] : (el.concat ?? []);
        if (hostVeth && mac && ip) entries.push({ hostVeth, mac, ip });
      }
    }
    if (item.set?.name === UNVERIFIED) for (const el of item.set.elem ?? []) if (typeof el === "string") unverified.push(el);
    if (item.rule?.chain) rulesPerChain.set(item.rule.chain, (rulesPerChain.get(item.rule.chain) ?? 0) + 1);
    if (item.counter?.name === DROP_COUNTER) droppedFrames = item.counter.packets ?? 0;
    if (item.counter?.name === OTHER_COUNTER) droppedOther = item.counter.packets ?? 0;
  }
  const intact = Object.entries(rulesFor(dualStack)).every(([chain, rules]) => rulesPerChain.get(chain) === rules.length);
  return { entries, unverified, droppedFrames, droppedOther, intact };
}

/** What one sync changes, worked out from the table, the IP records and the kernel's ports alone. */
export interface PodFilterPlan {
  add: PodFilterEntry[];
  remove: PodFilterEntry[];
  /** Ports to let through unfiltered, and ports that no longer need it. */
  openPorts: string[];
  closePorts: string[];
  /** Entries of running ports that have no IP record: kept, and reported. */
  unrecorded: PodFilterEntry[];
  /** Running ports with neither a record nor an entry, unfiltered after this sync: reported. */
  unverified: string[];
  /** Entries missing or stale at this sync and left for the next one to confirm (pass them back). */
  differing: Set<string>;
}

/**
 * A difference between the set and the records is repaired when the previous sync saw it too
 * (`differedBefore`): a pod's ADD or DEL running between the two reads makes one for a few
 * milliseconds. A new or repaired table (`state` undefined or not intact) gets every running pod's
 * entry at once. The records say which address a port may use; they never take a running port's
 * entry away on their own: the plugin may keep records where weftd does not look.
 */
export function planPodFilter(state: PodFilterState | undefined, want: PodFilterEntry[], ports: ReadonlySet<string>, differedBefore: ReadonlySet<string>): PodFilterPlan {
  const wantById = new Map(want.map((e) => [entryId(e), e]));
  const have = new Map((state?.entries ?? []).map((e) => [entryId(e), e]));
  const recordedPorts = new Set(want.map((e) => e.hostVeth));
  const missing = [...wantById].filter(([id]) => !have.has(id));
  // An element nft could not be told about safely is left alone (only a root user could have put it there).
  const notWanted = [...have].filter(([id, e]) => !wantById.has(id) && isWellFormed(e));
  const isUnrecorded = (e: PodFilterEntry): boolean => ports.has(e.hostVeth) && !recordedPorts.has(e.hostVeth);
  const unrecorded = notWanted.filter(([, e]) => isUnrecorded(e));
  const stale = notWanted.filter(([, e]) => !isUnrecorded(e));
  const confirmed = ([id]: [string, PodFilterEntry]): boolean => differedBefore.has(id);
  const add = (state?.intact ? missing.filter(confirmed) : missing).map(([, e]) => e);
  const remove = stale.filter(confirmed).map(([, e]) => e);

  const listedPorts = new Set([...(state?.entries ?? []), ...add].map((e) => e.hostVeth));
  const unverified = [...ports].filter((p) => !recordedPorts.has(p) && !listedPorts.has(p) && VETH.test(p)).sort();
  const wasOpen = new Set(state?.intact ? state.unverified : []);
  const openPorts = unverified.filter((p) => !wasOpen.has(p));
  // Closed once the port is gone or its pod's entry is in the set: never before its entry is there.
  const closePorts = [...wasOpen].filter((p) => VETH.test(p) && !unverified.includes(p) && (!ports.has(p) || listedPorts.has(p)));
  const repaired = new Set([...add, ...remove].map(entryId));
  const differing = new Set([...missing, ...stale].map(([id]) => id).filter((id) => !repaired.has(id)));
  return { add, remove, openPorts, closePorts, unrecorded: unrecorded.map(([, e]) => e), unverified, differing };
}

export interface PodFilterSync extends Omit<PodFilterPlan, "add" | "remove" | "openPorts" | "closePorts"> {
  entries: number;
  added: number;
  removed: number;
  tableWritten: boolean;
  droppedFrames: number;
  droppedOther: number;
}

export interface PodFilterInputs {
  /** The plugin's IP records, as the caller listed them (weftd lists them once per resync, for this and for etcd). */
  allocations: RecordedPod[];
  /** Reads the records again, after a table write. */
  relist: () => RecordedPod[];
  /** The weft pod ports (host veths) that exist in the kernel now. */
  ports: readonly string[];
  /** A dual-stack node: IPv6 is checked too (see rulesFor). */
  dualStack?: boolean;
}

/** One statement per set that has elements to change: IPv4 entries, IPv6 entries, ports. */
function elementStatements(op: "add" | "delete", entries: PodFilterEntry[], ports: string[] = []): string {
  const line = (set: string, items: string[]): string => (items.length ? `${op} element bridge ${T} ${set} { ${items.join(", ")} }\n` : "");
  return line(SET, entries.filter((e) => !isV6(e)).map(elementText)) + line(SET6, entries.filter(isV6).map(elementText)) + line(UNVERIFIED, ports.map(portText));
}
const addElements = (entries: PodFilterEntry[], ports: string[] = []): string => elementStatements("add", entries, ports);

/**
 * Makes the table and its sets match the pods this node runs (see planPodFilter). Additions and
 * removals go in separate transactions: nft fails a whole transaction for one element that a DEL in
 * flight removed first, and an addition must not be lost with it.
 */
export async function syncPodFilter({ allocations, relist, ports, dualStack = false }: PodFilterInputs, exec: Exec = execHere, differedBefore: ReadonlySet<string> = new Set()): Promise<PodFilterSync> {
  const state = await readPodFilter(exec, dualStack);
  const want = allocations.flatMap((a) => podFilterEntries(a));
  const plan = planPodFilter(state, want, new Set(ports), differedBefore);
  const tableWritten = !state?.intact;
  // The table goes in with the pods' entries in one transaction: its rules never see a moment in
  // which a running pod is not listed yet.
  let late: PodFilterEntry[] = [];
  if (tableWritten) {
    await exec("nft", ["-f", "-"], podFilterScript(dualStack) + addElements(plan.add, plan.openPorts));
    // A pod whose ADD ran while the table did not exist yet was attached unlisted (the plugin found no
    // set): list the records that appeared meanwhile now, not two resyncs later. Listing a pod that is
    // still being added is harmless (the plugin's own add finds it there).
    const wanted = new Set(want.map(entryId));
    late = relist().flatMap((a) => podFilterEntries(a)).filter((e) => !wanted.has(entryId(e)));
    if (late.length) await exec("nft", ["-f", "-"], addElements(late));
  } else if (plan.add.length || plan.openPorts.length) await exec("nft", ["-f", "-"], addElements(plan.add, plan.openPorts));
  if (plan.remove.length) await exec("nft", ["-f", "-"], elementStatements("delete", plan.remove));
  if (plan.closePorts.length) await exec("nft", ["-f", "-"], elementStatements("delete", [], plan.closePorts));
  return {
    entries: want.length + late.length + plan.unrecorded.length,
    added: plan.add.length + late.length,
    removed: plan.remove.length,
    unrecorded: plan.unrecorded,
    unverified: plan.unverified,
    differing: plan.differing,
    tableWritten,
    droppedFrames: state?.droppedFrames ?? 0,
    droppedOther: state?.droppedOther ?? 0,
  };
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
  /** The last sync that found the table as wanted: what a skipped sync reports (entries, unrecorded, unverified). */
  private last: PodFilterSync | undefined;

  constructor(
    generation: (() => number) | undefined,
    private readonly counters: (() => Pick<PodFilterState, "droppedFrames" | "droppedOther">) | undefined,
    private readonly exec: Exec = execHere,
  ) {
    this.since = new UnchangedSinceCheck(generation);
  }

  /** `read`: whether this sync listed the table (false: skipped, only the counters read). */
  async sync(inputs: PodFilterInputs): Promise<PodFilterSync & { read: boolean }> {
    const want = new Set(inputs.allocations.flatMap((a) => podFilterEntries(a)).map(entryId));
    const key = this.since.key(`${[...want].sort().join(",")} ports ${[...inputs.ports].sort().join(",")} dual ${inputs.dualStack === true}`);
    if (this.since.unchanged(key) && this.counters && this.last) {
      try {
        return { ...this.last, added: 0, removed: 0, tableWritten: false, ...this.counters(), differing: new Set(), read: false };
      } catch {
        // the counters are gone or unreadable: the full read below says what happened to the table
      }
    }
    const r = await syncPodFilter(inputs, this.exec, this.differing);
    this.differing = r.differing;
    const asWanted = !r.tableWritten && r.added === 0 && r.removed === 0 && r.differing.size === 0;
    this.since.record(key, asWanted);
    this.last = asWanted ? r : undefined;
    return { ...r, read: true };
  }
}

/** Removes the table (weftd started with the filter off): pods are then attached unfiltered. */
export async function removePodFilter(exec: Exec = execHere): Promise<boolean> {
  if (!(await readPodFilter(exec))) return false;
  await exec("nft", ["delete", "table", "bridge", T]);
  return true;
}
