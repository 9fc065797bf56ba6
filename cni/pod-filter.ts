// The pod's entry in weftd's anti-spoofing set (see POD_FILTER): listed at ADD, once the veth exists,
// unlisted at DEL and GC, looked up by CHECK. When weftd runs without the filter there is no table and
// nothing to list: no rule can then drop the pod's frames either, so the pod is attached unfiltered
// and the log says so. subnet.env says whether the filter is on (WEFT_ANTI_SPOOFING); where it is off,
// or does not say, the set is not touched at all: the kernel aborts an nf_tables batch for a missing
// table only after 8-19 ms of work, more than the rest of the plugin's own. Not saying means no weft
// filter: weftd writes the key before it makes the table, so a subnet.env without it was written by
// flanneld (weft's plugin on a flannel node) or by a weftd older than the filter, and neither made one.
// A dual-stack pod's IPv6 and link-local addresses are also listed as the targets its neighbour
// advertisements may name (POD_ND_TARGETS), with the same keys.
import { ndTargetEntries, POD_FILTER, POD_FILTER6, POD_ND_TARGETS, type PodFilterEntry } from "../ipam/attachment.js";
import { readSubnetEnv } from "../ipam/subnet-env.js";
import { concatKey, NotFoundError, openNftSets, type NftSetHandle } from "../netlink/index.js";
import type { PluginLog } from "./log.js";

const isV6 = (e: PodFilterEntry): boolean => e.ip.includes(":");
const keyOf = (e: PodFilterEntry): Buffer => concatKey([{ ifname: e.hostVeth }, { etherAddr: e.mac }, isV6(e) ? { ipv6: e.ip } : { ipv4: e.ip }]);
const setOf = (e: PodFilterEntry) => (isV6(e) ? POD_FILTER6 : POD_FILTER);

/** One NETLINK_NETFILTER socket for `fn`, closed whatever happens. */
function withSets<T>(fn: (sets: NftSetHandle) => T): T {
  const sets = openNftSets();
  try {
    return fn(sets);
  } finally {
    sets.close();
  }
}

/** Whether subnet.env's word (WEFT_ANTI_SPOOFING, undefined when absent) says the filter may be on. */
export const filterMayBeOn = (antiSpoofing: boolean | undefined): boolean => antiSpoofing === true;

/**
 * Whether this node may have the filter: only when subnet.env says weftd keeps it. A file that cannot
 * be read says nothing, so it may (DEL must still remove an entry that may be there).
 */
export function nodeMayFilter(subnetFile: string): boolean {
  try {
    return filterMayBeOn(readSubnetEnv(subnetFile).antiSpoofing);
  } catch {
    return true;
  }
}

/** Each of the pod's elements with its set: its entries, then the targets it may advertise. */
const elementsOf = (entries: PodFilterEntry[]) => [...entries.map((e) => ({ set: setOf(e), key: keyOf(e) })), ...ndTargetEntries(entries).map((e) => ({ set: POD_ND_TARGETS, key: keyOf(e) }))];

/** Adds the advertisement targets; a table from a weftd that does not check them has no set for them (it adds them when it rewrites the table). */
function addNdTargets(sets: NftSetHandle, keys: Buffer[]): void {
  try {
    if (keys.length) sets.addElements(POD_ND_TARGETS, keys);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

/**
 * Adds the pod's entries (one per address; a dual-stack pod's IPv6 ones to the IPv6 set, and its
 * advertisement targets); returns false when this node has no filter. `filterOn`: subnet.env's word
 * (undefined when it has none).
 */
export function listPod(entries: PodFilterEntry[], filterOn: boolean | undefined, log: PluginLog): boolean {
  const entry = entries[0] as PodFilterEntry;
  if (!filterMayBeOn(filterOn)) {
    const why = filterOn === false ? "weftd runs without it" : "no WEFT_ANTI_SPOOFING, so not written by a weftd that keeps one";
    log.info(`no anti-spoofing filter on this node (subnet.env: ${why}); pod attached unfiltered`, { hostVeth: entry.hostVeth });
    return false;
  }
  try {
    withSets((sets) => {
      sets.addElements(POD_FILTER, entries.filter((e) => !isV6(e)).map(keyOf));
      const v6 = entries.filter(isV6).map(keyOf);
      if (v6.length) sets.addElements(POD_FILTER6, v6);
      addNdTargets(sets, ndTargetEntries(entries).map(keyOf));
    });
    return true;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    log.info("the anti-spoofing filter is not in place yet; weftd lists the pod when it makes it", { hostVeth: entry.hostVeth });
    return false;
  }
}

/**
 * Removes the pods' entries, then runs `meanwhile` before the netfilter socket is closed; an entry,
 * set or table already gone is fine (DEL is idempotent). Why the order: the kernel frees deleted
 * elements after an RCU grace period, in deferred work that closing a netfilter socket waits for
 * (12-28 ms measured). Work done before the close (deleting the veths) runs during that wait.
 */
export function unlistPods<T>(entries: PodFilterEntry[], meanwhile: () => T): T {
  let sets: NftSetHandle | undefined;
  try {
    if (entries.length) sets = openNftSets();
    // One batch each: the kernel fails a whole batch for one element that is already gone.
    for (const { set, key } of elementsOf(entries)) {
      try {
        sets?.deleteElements(set, [key]);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
    return meanwhile();
  } finally {
    sets?.close();
  }
}

/** Whether the pod's entry is in its set; undefined when this node has no filter (or no such set). */
export function isPodListed(entry: PodFilterEntry): boolean | undefined {
  try {
    return withSets((sets) => sets.hasElement(setOf(entry), keyOf(entry)));
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    return undefined; // the set itself is missing
  }
}
