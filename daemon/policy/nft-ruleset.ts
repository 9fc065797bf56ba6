// The compiled table as data (sets with their elements, chains with their rules), the nft script
// that installs it whole, and the script that moves a live table from one compilation to the next
// in one transaction: element adds and deletes where only pods or labels changed, chain rewrites
// only where policies did.

import type { PodInfo } from "./types.js";

export const POLICY_TABLE = "weft-policy";
const T = `inet ${POLICY_TABLE}`;

export interface NftSet {
  name: string;
  /** "ipv4_addr", or "ipv4_addr . inet_proto . inet_service". */
  type: string;
  comment: string;
  /** Sorted, each as nft writes it. */
  elements: string[];
  /** A set whose elements expire (`flags timeout`): others than weftd add to it (the new-pod hold), so its elements are not weftd's to list. */
  timeoutMs?: number;
  /** What puts elements in it, so one changed pod can be re-tested without a compile (pod-delta.ts); none: a change recompiles. */
  source?: SetSource;
}

/**
 * The elements one pod puts in a set, given the labels of its namespace ([] when none). A set's
 * elements are the union of this over the cluster's pods: pods are the only thing that moves them
 * while the policies and nodes stay as they were.
 */
export interface SetSource {
  elementsOf(pod: PodInfo, namespaceLabels: Record<string, string>): string[];
}

export interface NftChain {
  name: string;
  /** For a base chain: "type filter hook forward priority filter; policy accept;". */
  hook?: string;
  rules: string[];
}

/** Sets and chains in declaration order: a chain comes after every chain it jumps or goes to. */
export interface CompiledRuleset {
  sets: NftSet[];
  chains: NftChain[];
  /** Named counters the rules count into (`counter name "…"`), declared before the chains. */
  counters?: string[];
}

const quote = (s: string): string => `"${s.replace(/"/g, "'").slice(0, 120)}"`;
const elementList = (els: string[]): string => `{ ${els.join(", ")} }`;

function setBody(s: NftSet): string {
  const timeout = s.timeoutMs ? ` flags timeout; timeout ${s.timeoutMs}ms;` : "";
  return `type ${s.type};${timeout} comment ${quote(s.comment)};${s.elements.length ? ` elements = ${elementList(s.elements)};` : ""}`;
}

/** The whole table, replacing any earlier one atomically (declare, delete, declare: nft -f is one transaction). */
export function renderRuleset(c: CompiledRuleset): string {
  const lines = [`table ${T}`, `delete table ${T}`, `table ${T} {`];
  for (const s of c.sets) lines.push(`  set ${s.name} { ${setBody(s)} }`);
  for (const name of c.counters ?? []) lines.push(`  counter ${name} { }`);
  for (const ch of c.chains) {
    lines.push(`  chain ${ch.name} {`);
    if (ch.hook) lines.push(`    ${ch.hook}`);
    for (const r of ch.rules) lines.push(`    ${r}`);
    lines.push("  }");
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

const sameList = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The changes from `before` to `after`, as one nft script (one transaction). Order matters to the
 * kernel: new sets and chains exist before rules name them; a chain is flushed before it is deleted,
 * and deleted only after the chains that jumped to it were rewritten; sets go last.
 */
export function diffRulesets(before: CompiledRuleset, after: CompiledRuleset): string {
  const oldSets = new Map(before.sets.map((s) => [s.name, s]));
  const newSets = new Map(after.sets.map((s) => [s.name, s]));
  const oldChains = new Map(before.chains.map((c) => [c.name, c]));
  const newChains = new Map(after.chains.map((c) => [c.name, c]));
  const out: string[] = [];

  for (const s of after.sets) {
    const old = oldSets.get(s.name);
    if (!old || old.type !== s.type || old.timeoutMs !== s.timeoutMs) {
      if (old) out.push(`delete set ${T} ${s.name}`);
      out.push(`add set ${T} ${s.name} { ${setBody({ ...s, elements: [] })} }`);
      if (s.elements.length) out.push(`add element ${T} ${s.name} ${elementList(s.elements)}`);
      continue;
    }
    const had = new Set(old.elements);
    const has = new Set(s.elements);
    const gone = old.elements.filter((e) => !has.has(e));
    const added = s.elements.filter((e) => !had.has(e));
    if (gone.length) out.push(`delete element ${T} ${s.name} ${elementList(gone)}`);
    if (added.length) out.push(`add element ${T} ${s.name} ${elementList(added)}`);
  }
  const oldCounters = new Set(before.counters ?? []);
  const newCounters = new Set(after.counters ?? []);
  for (const name of after.counters ?? []) if (!oldCounters.has(name)) out.push(`add counter ${T} ${name}`);
  for (const c of after.chains) if (!oldChains.has(c.name)) out.push(`add chain ${T} ${c.name}${c.hook ? ` { ${c.hook} }` : ""}`);
  for (const c of after.chains) {
    const old = oldChains.get(c.name);
    if (old && old.hook === c.hook && sameList(old.rules, c.rules)) continue;
    if (old) out.push(`flush chain ${T} ${c.name}`);
    for (const r of c.rules) out.push(`add rule ${T} ${c.name} ${r}`);
  }
  const goneChains = before.chains.filter((c) => !newChains.has(c.name));
  for (const c of goneChains) out.push(`flush chain ${T} ${c.name}`);
  for (const c of goneChains) out.push(`delete chain ${T} ${c.name}`);
  for (const s of before.sets) if (!newSets.has(s.name)) out.push(`delete set ${T} ${s.name}`);
  for (const name of before.counters ?? []) if (!newCounters.has(name)) out.push(`delete counter ${T} ${name}`);
  return out.length ? out.join("\n") + "\n" : "";
}
