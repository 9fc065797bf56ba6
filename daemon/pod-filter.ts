// The anti-spoofing filter weftd owns (see POD_FILTER; its rules and sets in pod-filter-table.ts): an
// nftables bridge-family table whose chain drops, on weft's pod ports, every frame whose (port, source
// MAC, source address) is not that pod's entry in its family's set, a neighbour advertisement whose
// target is not one of the pod's own addresses, and every frame that is neither IPv4 nor ARP (nor, on
// a dual-stack node, IPv6): this also keeps VLAN-tagged frames, and on an IPv4-only node a pod's IPv6
// router advertisements, from reaching its neighbours.
// The plugin adds and removes entries at ADD and DEL; weftd creates the table, seeds the set from the
// plugin's IP records (pods that existed before the filter), and repairs drift at every resync.
// The kernel's ports are the truth of which pods run: an entry is never removed while its port
// exists without an IP record saying otherwise, and a port that has neither a record nor an entry
// is let through unfiltered (and reported) rather than cut off.
import { podFilterEntries } from "../ipam/attachment.js";
import type { RecordedPod } from "../ipam/pod-ip-store.js";
import { nftCounterPackets } from "../netlink/index.js";
import { execHere, type Exec } from "./exec.js";
import { DROP_COUNTER, elementId, elementStatements, filterElements, isWellFormed, OTHER_COUNTER, parsePodFilter, podFilterScript, TABLE, VETH, type FilterElement, type PodFilterState } from "./pod-filter-table.js";
import { UnchangedSinceCheck } from "./ruleset-generation.js";

export { elementText, podFilterScript, type FilterElement, type PodFilterState } from "./pod-filter-table.js";

/** Reads the table; undefined when it does not exist. `intact`: each chain holds the rules of `ipv6`'s mode. */
export async function readPodFilter(exec: Exec, ipv6 = false): Promise<PodFilterState | undefined> {
  let out: string;
  try {
    out = await exec("nft", ["-j", "list", "table", "bridge", TABLE]);
  } catch {
    return undefined;
  }
  return parsePodFilter(out, ipv6);
}

/** Every element a pod's records call for: its entries and, on a dual-stack node, its advertisement targets. */
const elementsOf = (pods: RecordedPod[]): FilterElement[] => pods.flatMap((a) => filterElements(podFilterEntries(a)));

/** What one sync changes, worked out from the table, the IP records and the kernel's ports alone. */
export interface PodFilterPlan {
  add: FilterElement[];
  remove: FilterElement[];
  /** Ports to let through unfiltered, and ports that no longer need it. */
  openPorts: string[];
  closePorts: string[];
  /** Entries of running ports that have no IP record: kept, and reported. */
  unrecorded: FilterElement[];
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
export function planPodFilter(state: PodFilterState | undefined, want: FilterElement[], ports: ReadonlySet<string>, differedBefore: ReadonlySet<string>): PodFilterPlan {
  const wantById = new Map(want.map((e) => [elementId(e), e]));
  const have = new Map((state?.entries ?? []).map((e) => [elementId(e), e]));
  const recordedPorts = new Set(want.map((e) => e.hostVeth));
  const missing = [...wantById].filter(([id]) => !have.has(id));
  // An element nft could not be told about safely is left alone (only a root user could have put it there).
  const notWanted = [...have].filter(([id, e]) => !wantById.has(id) && isWellFormed(e));
  const isUnrecorded = (e: FilterElement): boolean => ports.has(e.hostVeth) && !recordedPorts.has(e.hostVeth);
  const unrecorded = notWanted.filter(([, e]) => isUnrecorded(e));
  const stale = notWanted.filter(([, e]) => !isUnrecorded(e));
  const confirmed = ([id]: [string, FilterElement]): boolean => differedBefore.has(id);
  const add = (state?.intact ? missing.filter(confirmed) : missing).map(([, e]) => e);
  const remove = stale.filter(confirmed).map(([, e]) => e);

  const listedPorts = new Set([...(state?.entries ?? []), ...add].map((e) => e.hostVeth));
  const unverified = [...ports].filter((p) => !recordedPorts.has(p) && !listedPorts.has(p) && VETH.test(p)).sort();
  const wasOpen = new Set(state?.intact ? state.unverified : []);
  const openPorts = unverified.filter((p) => !wasOpen.has(p));
  // Closed once the port is gone or its pod's entry is in the set: never before its entry is there.
  const closePorts = [...wasOpen].filter((p) => VETH.test(p) && !unverified.includes(p) && (!ports.has(p) || listedPorts.has(p)));
  const repaired = new Set([...add, ...remove].map(elementId));
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
  /** The node's pods have IPv6 (dual-stack or IPv6-only): it is checked too (see rulesFor). */
  ipv6?: boolean;
}

const addElements = (elements: FilterElement[], ports: string[] = []): string => elementStatements("add", elements, ports);

/**
 * Makes the table and its sets match the pods this node runs (see planPodFilter). Additions and
 * removals go in separate transactions: nft fails a whole transaction for one element that a DEL in
 * flight removed first, and an addition must not be lost with it.
 */
export async function syncPodFilter({ allocations, relist, ports, ipv6 = false }: PodFilterInputs, exec: Exec = execHere, differedBefore: ReadonlySet<string> = new Set()): Promise<PodFilterSync> {
  const state = await readPodFilter(exec, ipv6);
  const want = elementsOf(allocations);
  const plan = planPodFilter(state, want, new Set(ports), differedBefore);
  const tableWritten = !state?.intact;
  // The table goes in with the pods' entries in one transaction: its rules never see a moment in
  // which a running pod is not listed yet.
  let late: FilterElement[] = [];
  if (tableWritten) {
    await exec("nft", ["-f", "-"], podFilterScript(ipv6) + addElements(plan.add, plan.openPorts));
    // A pod whose ADD ran while the table did not exist yet was attached unlisted (the plugin found no
    // set): list the records that appeared meanwhile now, not two resyncs later. Listing a pod that is
    // still being added is harmless (the plugin's own add finds it there).
    const wanted = new Set(want.map(elementId));
    late = elementsOf(relist()).filter((e) => !wanted.has(elementId(e)));
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
  const [droppedFrames = 0, droppedOther = 0] = nftCounterPackets([DROP_COUNTER, OTHER_COUNTER].map((name) => ({ family: "BRIDGE", table: TABLE, name })), netnsPath);
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
    const want = new Set(elementsOf(inputs.allocations).map(elementId));
    const key = this.since.key(`${[...want].sort().join(",")} ports ${[...inputs.ports].sort().join(",")} ipv6 ${inputs.ipv6 === true}`);
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
  await exec("nft", ["delete", "table", "bridge", TABLE]);
  return true;
}
