// A change of pods or namespace labels as set elements, without compiling the cluster. While the
// policies and nodes are what the last compile saw, the rules are too (they name sets, never pods), so
// only elements can move, and only for the pods that changed or whose namespace's labels did. Each
// such pod is re-tested, as it was and as it is, against every set's source (compile-sets.ts): what it
// puts in now is added; what it put in and no longer does leaves, unless another pod still puts it
// there (two pods may share an address while one ends). Whatever this cannot prove it handles (a
// policy or node changed, a set without a source, a field the sets do not read) answers "recompile",
// and the caller compiles the whole cluster as before.
import { canonicalIp } from "./cidr.js";
import { podKey } from "./cluster-index.js";
import { sameData } from "./same-data.js";
import type { CompiledRuleset, NftSet } from "./nft-ruleset.js";
import type { Cluster, NamespaceInfo, PodInfo } from "./types.js";

/** One set's elements to add and to remove, each as nft writes it. */
export interface ElementChange {
  set: string;
  type: string;
  add: string[];
  remove: string[];
}

export type PodDelta =
  | { kind: "elements"; next: CompiledRuleset; changes: ElementChange[]; pods: number }
  | { kind: "recompile"; reason: string };

/** Past this share of the cluster's pods, re-testing them costs about what a compile does. */
const MAX_CHANGED_SHARE = 0.25;
/** What compile-sets reads of a pod; any other field (one a later compile might read) recompiles. */
const POD_FIELDS = new Set(["namespace", "name", "labels", "ips", "node", "ports", "hostNetwork"]);
const recompile = (reason: string): PodDelta => ({ kind: "recompile", reason });

/** Equal lists, item by item: the same objects (the informers' copies), or equal data. */
const sameList = <T>(a: T[], b: T[]): boolean => a.length === b.length && a.every((x, i) => sameData(x, b[i]));

/** A namespace's labels as ClusterIndex reads them: one the model lacks has the label the API server always sets. */
function labelsByNamespace(c: Cluster): (ns: string) => Record<string, string> {
  const m = new Map(c.namespaces.map((n) => [n.name, n.labels]));
  return (ns) => m.get(ns) ?? { "kubernetes.io/metadata.name": ns };
}

/** Namespaces whose labels changed; a string when something else of a namespace did. */
function namespacesRelabelled(before: Cluster, after: Cluster): Set<string> | string {
  const b = new Map(before.namespaces.map((n) => [n.name, n]));
  const a = new Map(after.namespaces.map((n) => [n.name, n]));
  if (b.size !== before.namespaces.length || a.size !== after.namespaces.length) return "a namespace is listed twice";
  const [lb, la] = [labelsByNamespace(before), labelsByNamespace(after)];
  const rest = (n: NamespaceInfo | undefined, name: string): object => {
    const { labels: _labels, ...others } = n ?? { name, labels: {} };
    return others;
  };
  const changed = new Set<string>();
  for (const name of new Set([...b.keys(), ...a.keys()])) {
    if (!sameData(rest(b.get(name), name), rest(a.get(name), name))) return `namespace ${name}: a field besides its labels changed`;
    if (!sameData(lb(name), la(name))) changed.add(name);
  }
  return changed;
}

interface PodChange {
  before: PodInfo | undefined;
  after: PodInfo | undefined;
}

/** A cluster's pods by key, kept with the cluster: this sync's `after` is the next one's `before`. */
const podIndexes = new WeakMap<Cluster, Map<string, PodInfo> | string>();
function podsByKey(c: Cluster): Map<string, PodInfo> | string {
  let index = podIndexes.get(c);
  if (index === undefined) {
    const m = new Map<string, PodInfo>();
    index = m;
    for (const p of c.pods) {
      for (const k in p) if (!POD_FIELDS.has(k)) index = `pod ${podKey(p)}: field ${k} is not one the sets read`;
      m.set(podKey(p), p);
    }
    if (typeof index !== "string" && m.size !== c.pods.length) index = "a pod is listed twice";
    podIndexes.set(c, index);
  }
  return index;
}

/** The pods to re-test: changed, new, gone, or in a relabelled namespace; a string when one cannot be. */
function podsToRetest(before: Cluster, after: Cluster, relabelled: Set<string>): PodChange[] | string {
  const b = podsByKey(before);
  const a = podsByKey(after);
  if (typeof b === "string") return b;
  if (typeof a === "string") return a;
  const out: PodChange[] = [];
  for (const [key, pa] of a) {
    const pb = b.get(key);
    if (pb && !relabelled.has(pa.namespace) && sameData(pb, pa)) continue;
    out.push({ before: pb, after: pa });
  }
  for (const [key, pb] of b) if (!a.has(key)) out.push({ before: pb, after: undefined });
  return out;
}

/** Canonical addresses, remembered: the same few thousand pod addresses come back at every change. */
const canonical = new Map<string, string>();
function canonicalOf(ip: string): string {
  let c = canonical.get(ip);
  if (c === undefined) {
    if (canonical.size > 200_000) canonical.clear();
    c = canonicalIp(ip);
    canonical.set(ip, c);
  }
  return c;
}

/** The pods of a cluster by canonical address, built on first use (only a removal needs it). */
function podsByAddress(c: Cluster): (address: string) => PodInfo[] {
  let index: Map<string, PodInfo[]> | undefined;
  return (address) => {
    if (!index) {
      index = new Map();
      for (const p of c.pods) for (const ip of p.ips) index.set(canonicalOf(ip), [...(index.get(canonicalOf(ip)) ?? []), p]);
    }
    return index.get(address) ?? [];
  };
}

/**
 * The set elements that move `applied` (compiled from `before`, as applied) to what a compile of
 * `after` would give, and the ruleset they make; or why only a compile can tell.
 */
export function podDelta(before: Cluster, after: Cluster, applied: CompiledRuleset): PodDelta {
  if (!sameList(before.networkPolicies, after.networkPolicies) || !sameList(before.clusterNetworkPolicies, after.clusterNetworkPolicies)) return recompile("policies changed");
  if (!sameList(before.nodes, after.nodes)) return recompile("nodes changed");
  const unsourced = applied.sets.find((s) => !s.source);
  if (unsourced) return recompile(`set ${unsourced.name} has no source to re-test pods against`);
  const relabelled = namespacesRelabelled(before, after);
  if (typeof relabelled === "string") return recompile(relabelled);
  const pods = podsToRetest(before, after, relabelled);
  if (typeof pods === "string") return recompile(pods);
  if (pods.length > Math.max(16, MAX_CHANGED_SHARE * after.pods.length)) return recompile(`${pods.length} pods changed`);

  const [nsBefore, nsAfter] = [labelsByNamespace(before), labelsByNamespace(after)];
  const holders = podsByAddress(after);
  const changes: ElementChange[] = [];
  const moved = new Map<string, NftSet>();
  for (const s of applied.sets) {
    const source = s.source!;
    const added = new Set<string>();
    const left = new Set<string>();
    for (const { before: pb, after: pa } of pods) {
      const was = pb ? source.elementsOf(pb, nsBefore(pb.namespace)) : [];
      const is = pa ? source.elementsOf(pa, nsAfter(pa.namespace)) : [];
      for (const e of is) added.add(e);
      for (const e of was) if (!is.includes(e)) left.add(e);
    }
    if (added.size === 0 && left.size === 0) continue;
    const current = new Set(s.elements);
    const add = [...added].filter((e) => !current.has(e));
    // An element stays while any pod of `after` still puts it there (its address is the first field).
    const stillHeld = (e: string): boolean => holders(e.split(" . ")[0]!).some((p) => source.elementsOf(p, nsAfter(p.namespace)).includes(e));
    const remove = [...left].filter((e) => !added.has(e) && current.has(e) && !stillHeld(e));
    if (add.length === 0 && remove.length === 0) continue;
    const gone = new Set(remove);
    moved.set(s.name, { ...s, elements: [...s.elements.filter((e) => !gone.has(e)), ...add].sort() });
    changes.push({ set: s.name, type: s.type, add: add.sort(), remove: remove.sort() });
  }
  const next = { ...applied, sets: applied.sets.map((s) => moved.get(s.name) ?? s) };
  return { kind: "elements", next, changes, pods: pods.length };
}
