// A new pod's first moments under network policy. The plugin allocates the pod's address before weftd
// can know it, and a pod weftd has not judged yet is not judged at all (so that weftd down never cuts
// pods off). To close that window the plugin holds the new addresses: it adds them, before any link
// is up, to weftd's sets new-pods-v4/-v6 in table inet weft-policy, whose rules drop every packet to or
// from them; the set's timeout (subnet.env's WEFT_POLICY_NEW_POD_HOLD_MS, which weftd writes when it
// enforces policy) ends a hold weftd never releases, so a pod is held at most that long whatever
// happens to weftd. weftd releases the hold in the same transaction that puts the addresses into its
// own sets (local-pods and the sets the pod's labels select it for): from one packet to the next the
// pod goes from held to judged. If weftd judged the pod before the plugin got here (it learns of the
// address from the record the allocation wrote), the plugin finds the address in local-pods and
// does not hold it: it looks before it adds (the common case where weftd watches the API: the pod's
// labels are known before its record), and again after, releasing the hold it just made if weftd judged
// the pod in between. Only that rare path deletes an element, and a netfilter socket closed after a
// delete waits for nf_tables' deferred release (13–16 ms here): looking first keeps it off the ADD.
import { concatKey, NotFoundError, openNftSets, type NftSetHandle, type NftSetRef } from "../netlink/index.js";
import type { PluginLog } from "./log.js";

const TABLE = "weft-policy";
const ref = (name: string, ip: string): NftSetRef => ({ family: "INET", table: TABLE, set: `${name}-${ip.includes(":") ? "v6" : "v4"}` });
const keyOf = (ip: string): Buffer => concatKey([ip.includes(":") ? { ipv6: ip } : { ipv4: ip }]);

/** weftd has judged the pod: its address is in local-pods. */
const isJudged = (sets: NftSetHandle, ip: string): boolean => sets.hasElement(ref("local-pods", ip), keyOf(ip));

function releaseIfJudged(sets: NftSetHandle, ip: string): boolean {
  if (!isJudged(sets, ip)) return false;
  try {
    sets.deleteElements(ref("new-pods", ip), [keyOf(ip)]);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err; // weftd's release came first
  }
  return true;
}

/**
 * Holds the pod's addresses until weftd judges them, at most `holdMs` (the set's own timeout). Returns
 * the addresses still held. No hold where weftd enforces no policy (`holdMs` undefined) or its table
 * is not there yet: a weftd that has not written its table judges nobody, so there is nothing to wait for.
 */
export function holdNewPod(ips: string[], holdMs: number | undefined, log: PluginLog): string[] {
  if (holdMs === undefined || ips.length === 0) return [];
  let sets: NftSetHandle | undefined;
  try {
    sets = openNftSets();
    const unjudged = ips.filter((ip) => !isJudged(sets as NftSetHandle, ip));
    for (const ip of unjudged) sets.addElements(ref("new-pods", ip), [keyOf(ip)]);
    const held = unjudged.filter((ip) => !releaseIfJudged(sets as NftSetHandle, ip));
    log.info(held.length ? "new pod held until weftd judges it under network policy" : "new pod already judged by weftd", { held, holdMs });
    return held;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    log.info("no network policy table on this node yet; new pod not held", { ips });
    return [];
  } finally {
    sets?.close();
  }
}
