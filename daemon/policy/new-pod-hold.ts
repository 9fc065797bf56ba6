// The new-pod hold, compiled: sets new-pods-v4/-v6 that the CNI plugin adds a new pod's addresses to
// before its links are up (cni/policy-hold.ts), each element expiring on its own after the set's
// timeout, and rules at the top of the hook chains that drop every packet to or from a held address
// (after established flows and ICMPv6 neighbour discovery, as every other verdict here). weftd never
// lists these sets' elements: it releases a hold (an add then a delete of the element, so the delete
// cannot fail) in the transaction that first puts the pod's addresses into local-pods, and a table
// written whole starts with empty sets. Traffic from the node itself (the kubelet's probes) goes
// through output and is never held.
import { CUT_FLOW_DROP } from "./compile.js";
import { FAMILIES } from "./compile-sets.js";
import type { Family } from "./cidr.js";
import type { CompiledRuleset, NftSet } from "./nft-ruleset.js";
import type { ElementChange } from "./pod-delta.js";

export const NEW_POD_SET = (f: Family): string => `new-pods-v${f}`;
const keyword = (f: Family): string => (f === 4 ? "ip" : "ip6");
const addrType = (f: Family): string => (f === 4 ? "ipv4_addr" : "ipv6_addr");

/** The ruleset with the hold's sets and rules; `holdMs` 0 or less: unchanged. */
export function withNewPodHold(ruleset: CompiledRuleset, holdMs: number): CompiledRuleset {
  if (holdMs <= 0) return ruleset;
  // No pod puts an element in these as weftd sees them (the plugin does): a pod change stays elements (pod-delta.ts).
  const sets: NftSet[] = FAMILIES.map((f) => ({ name: NEW_POD_SET(f), type: addrType(f), comment: `new pods held until weftd judges them, ${holdMs} ms at most`, elements: [], timeoutMs: holdMs, source: { elementsOf: () => [] } }));
  const drops = FAMILIES.flatMap((f) => ["saddr", "daddr"].map((field) => `${keyword(f)} ${field} @${NEW_POD_SET(f)} counter drop comment "a new pod weftd has not judged yet"`));
  // After the chain's unconditional verdicts (cut flows, established flows, neighbour discovery), before any judgement.
  const chains = ruleset.chains.map((c) => {
    if (!c.hook) return c;
    const at = c.rules.findIndex((r) => !/ accept$/.test(r) && r !== CUT_FLOW_DROP);
    const i = at < 0 ? c.rules.length : at;
    return { ...c, rules: [...c.rules.slice(0, i), ...drops, ...c.rules.slice(i)] };
  });
  return { ...ruleset, sets: [...ruleset.sets, ...sets], chains };
}

/** Addresses `after` puts into local-pods that `before` did not have: the pods this transaction first judges. */
export function newlyLocal(before: CompiledRuleset, after: CompiledRuleset): string[] {
  if (!after.sets.some((s) => s.name === NEW_POD_SET(4))) return [];
  return FAMILIES.flatMap((f) => {
    const had = new Set(before.sets.find((s) => s.name === `local-pods-v${f}`)?.elements ?? []);
    return (after.sets.find((s) => s.name === `local-pods-v${f}`)?.elements ?? []).filter((ip) => !had.has(ip));
  });
}

/** The release of `ips` from the hold as element changes: each family's adds, then its deletes (an element already gone is no error), for the nft script and the netlink path alike. */
export function releaseChanges(ips: string[]): ElementChange[] {
  return FAMILIES.flatMap((f) => {
    const mine = ips.filter((ip) => (ip.includes(":") ? 6 : 4) === f);
    if (!mine.length) return [];
    const set = NEW_POD_SET(f);
    return [
      { set, type: addrType(f), add: mine, remove: [] },
      { set, type: addrType(f), add: [], remove: mine },
    ];
  });
}
