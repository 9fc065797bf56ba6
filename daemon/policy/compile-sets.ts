// The named sets the compiled rules match against, built from the cluster: one per distinct
// selector (so equal selectors share a set), per node label selector, and per named port. Rules name
// sets, never pods: a pod starting, stopping or changing labels moves elements, not rules. Each set
// keeps its source (which pods it holds, what each puts in it), so pod-delta.ts can re-test one
// changed pod against every set instead of compiling the cluster again.
import { createHash } from "node:crypto";
import { canonicalIp, familyOf, type Family } from "./cidr.js";
import type { ClusterIndex } from "./cluster-index.js";
import { podKey } from "./cluster-index.js";
import { selectorMatches, selectorText } from "./labels.js";
import type { NftSet, SetSource } from "./nft-ruleset.js";
import type { LabelSelector, NamespacedPod, PodInfo } from "./types.js";

export const FAMILIES: readonly Family[] = [4, 6];
export const ipKeyword = (f: Family): "ip" | "ip6" => (f === 4 ? "ip" : "ip6");
const addrType = (f: Family): string => (f === 4 ? "ipv4_addr" : "ipv6_addr");
const suffix = (f: Family): string => `v${f}`;

/** Stable across restarts and equal for equal selectors, as kube-proxy's chain names. */
const hashOf = (key: string): string => createHash("sha256").update(key).digest("hex").slice(0, 12);

/** A pod selection in words and as a test: which pods of the cluster it holds. */
export interface PodSelection {
  key: string;
  description: string;
  matches: (pod: PodInfo) => boolean;
  /** The same test with the namespace's labels given: a later cluster's, for one changed pod. */
  holds: (pod: PodInfo, namespaceLabels: Record<string, string>) => boolean;
}

export function namespacedSelection(what: string, ns: LabelSelector | undefined, pods: LabelSelector | undefined, ownNamespace: string | undefined, index: ClusterIndex): PodSelection {
  const nsPart = ns ? `namespaces ${selectorText(ns)}` : `namespace ${ownNamespace ?? "?"}`;
  const podPart = `pods ${pods ? selectorText(pods) : "<all>"}`;
  const holds = (p: PodInfo, nsLabels: Record<string, string>): boolean =>
    !p.hostNetwork && (ns ? selectorMatches(ns, nsLabels) : p.namespace === ownNamespace) && (pods ? selectorMatches(pods, p.labels) : true);
  return {
    key: `${what}|${nsPart}|${podPart}`,
    description: `${what}: ${podPart} in ${nsPart}`,
    matches: (p) => holds(p, index.namespaceLabels(p.namespace)),
    holds,
  };
}

export const namespacedPodSelection = (what: string, sel: NamespacedPod, index: ClusterIndex): PodSelection => namespacedSelection(what, sel.namespaceSelector, sel.podSelector, undefined, index);

/** A pod's canonical addresses of one family. */
const podAddresses = (p: PodInfo, f: Family): string[] => p.ips.filter((ip) => familyOf(ip) === f).map(canonicalIp);

/** (address . protocol . port) for each container port of this name, over the pod's addresses given. */
const namedPortElements = (p: PodInfo, name: string, addresses: string[]): string[] =>
  p.ports.filter((cp) => cp.name === name).flatMap((cp) => addresses.map((ip) => `${ip} . ${(cp.protocol ?? "TCP").toLowerCase()} . ${cp.containerPort}`));

/** Node sets hold node addresses only: no pod puts anything in them (a node change always recompiles). */
const NO_POD: SetSource = { elementsOf: () => [] };

export class SetRegistry {
  private readonly sets = new Map<string, NftSet>();
  private readonly localPods: PodInfo[];
  private readonly isLocal: (p: PodInfo) => boolean;

  constructor(
    private readonly index: ClusterIndex,
    node: string,
  ) {
    this.isLocal = (p) => p.node === node && !p.hostNetwork;
    this.localPods = index.cluster.pods.filter(this.isLocal);
  }

  /** Each pod's canonical addresses by family, parsed once per compile (every set of a pod reads them). */
  private readonly addresses = new Map<PodInfo, Map<Family, string[]>>();

  private define(name: string, type: string, comment: string, elements: string[], source: SetSource): void {
    if (!this.sets.has(name)) this.sets.set(name, { name, type, comment, elements: [...new Set(elements)].sort(), source });
  }

  /** Whether every family's set of this base name is made: a selector or port name used again costs nothing. */
  private made(base: string): boolean {
    return FAMILIES.every((f) => this.sets.has(`${base}-${suffix(f)}`));
  }

  private addressesOf(pods: PodInfo[], f: Family): string[] {
    return pods.flatMap((p) => {
      let byFamily = this.addresses.get(p);
      if (!byFamily) {
        byFamily = new Map(FAMILIES.map((fam) => [fam, p.ips.filter((ip) => familyOf(ip) === fam).map(canonicalIp)]));
        this.addresses.set(p, byFamily);
      }
      return byFamily.get(f) ?? [];
    });
  }

  /** Sets of pod addresses, one per family; `localOnly` for subjects, which only this node's rules name. */
  podSet(prefix: string, sel: PodSelection, localOnly: boolean): (f: Family) => string {
    const base = `${prefix}-${hashOf(sel.key)}`;
    if (this.made(base)) return (f) => `${base}-${suffix(f)}`;
    const pods = (localOnly ? this.localPods : this.index.cluster.pods).filter((p) => !p.hostNetwork && sel.matches(p));
    const isLocal = this.isLocal;
    const holds = (p: PodInfo, nsLabels: Record<string, string>): boolean => !p.hostNetwork && (!localOnly || isLocal(p)) && sel.holds(p, nsLabels);
    for (const f of FAMILIES)
      this.define(`${base}-${suffix(f)}`, addrType(f), `${sel.description} (${pods.length} pods)`, this.addressesOf(pods, f), { elementsOf: (p, nsLabels) => (holds(p, nsLabels) ? podAddresses(p, f) : []) });
    return (f) => `${base}-${suffix(f)}`;
  }

  /** The local pods `holds` picks (every local pod, or those isolated for a direction); `holds` reads only the pod. */
  localPodSet(name: string, comment: string, holds: (p: PodInfo) => boolean): (f: Family) => string {
    const pods = this.localPods.filter(holds);
    const isLocal = this.isLocal;
    for (const f of FAMILIES)
      this.define(`${name}-${suffix(f)}`, addrType(f), `${comment}: ${pods.map(podKey).slice(0, 6).join(" ")}${pods.length > 6 ? " …" : ""}`, this.addressesOf(pods, f), {
        elementsOf: (p) => (isLocal(p) && holds(p) ? podAddresses(p, f) : []),
      });
    return (f) => `${name}-${suffix(f)}`;
  }

  nodeSet(sel: LabelSelector): (f: Family) => string {
    const base = `nodes-${hashOf(selectorText(sel))}`;
    if (this.made(base)) return (f) => `${base}-${suffix(f)}`;
    const nodes = this.index.cluster.nodes.filter((n) => selectorMatches(sel, n.labels));
    for (const f of FAMILIES) this.define(`${base}-${suffix(f)}`, addrType(f), `node addresses, nodes ${selectorText(sel)}`, nodes.flatMap((n) => n.ips.filter((ip) => familyOf(ip) === f).map(canonicalIp)), NO_POD);
    return (f) => `${base}-${suffix(f)}`;
  }

  /** (pod address, protocol, port) for every pod with a container port of this name. */
  namedPortSet(name: string): (f: Family) => string {
    const base = `port-${name.toLowerCase().replace(/[^a-z0-9-]/g, "_")}`;
    if (this.made(base)) return (f) => `${base}-${suffix(f)}`;
    const pods = this.index.cluster.pods.filter((p) => !p.hostNetwork);
    for (const f of FAMILIES) {
      const elements = pods.flatMap((p) => namedPortElements(p, name, this.addressesOf([p], f)));
      const source: SetSource = { elementsOf: (p) => (p.hostNetwork ? [] : namedPortElements(p, name, podAddresses(p, f))) };
      this.define(`${base}-${suffix(f)}`, `${addrType(f)} . inet_proto . inet_service`, `pods' container ports named ${name}`, elements, source);
    }
    return (f) => `${base}-${suffix(f)}`;
  }

  all(): NftSet[] {
    return [...this.sets.values()];
  }
}
