// The model part of bench/policy.mjs (bundled into its worker), run inside a throwaway namespace:
//   full sync: weftd's sync for a synthetic cluster as policy-enforcer.ts runs it for a policy change
//   (buildCluster → compile → counters → PolicyTable.apply with nft), against `nft -f` of the same text
//   alone and of a flat table of the same size;
//   a pod label change, and a namespace label change, as weftd applies them now (buildCluster →
//   podDelta → set elements over netlink, until the kernel acknowledged them), each against, for the
//   same change, the path before (build → compile → counters → the diff with nft -f) and `nft -f` of
//   that diff alone. The kernel's sets are compared with the model's at the end.
import { execHere } from "../daemon/exec.js";
import { buildCluster } from "../daemon/policy-cluster.js";
import { withPolicyCounters } from "../daemon/policy-counters.js";
import { elementCount, NetlinkElementWriter } from "../daemon/policy-elements.js";
import { PolicyTable } from "../daemon/policy-table.js";
import { compile } from "../daemon/policy/compile.js";
import { diffRulesets, renderRuleset, type CompiledRuleset } from "../daemon/policy/nft-ruleset.js";
import { podDelta } from "../daemon/policy/pod-delta.js";
import type { Cluster } from "../daemon/policy/types.js";
import { ROLES, synthetic, type Synthetic } from "./policy-synthetic.js";

const NODE = "bench-node";
const now = (): number => performance.now();

interface SyncTimes {
  build: number;
  compile: number;
  counters: number;
  render: number;
  nft: number;
  total: number;
  kind: string;
  scriptBytes: number;
}

interface ElementTimes {
  build: number;
  delta: number;
  write: number;
  total: number;
  kind: string;
  elements: number;
  sets: number;
}

function counts(c: CompiledRuleset): { sets: number; elements: number; rules: number; chains: number; counters: number } {
  return { sets: c.sets.length, elements: c.sets.reduce((a, s) => a + s.elements.length, 0), rules: c.chains.reduce((a, ch) => a + ch.rules.length, 0), chains: c.chains.length, counters: c.counters?.length ?? 0 };
}

/** A table of the same size without the model: as many sets with as many elements, as many rules in one chain. */
function flatTable(c: CompiledRuleset): string {
  const n = counts(c);
  const lines = ["table inet bench-flat", "delete table inet bench-flat", "table inet bench-flat {"];
  let e = 0;
  c.sets.forEach((s, i) => {
    const els = Array.from({ length: s.elements.length }, () => (e++, `10.${100 + Math.floor(e / 65536)}.${Math.floor(e / 256) % 256}.${e % 256}`));
    lines.push(`  set f${i} { type ipv4_addr;${els.length ? ` elements = { ${els.join(", ")} };` : ""} }`);
  });
  for (let k = 0; k < n.counters; k++) lines.push(`  counter c${k} { }`);
  lines.push("  chain rules {");
  for (let r = 0; r < n.rules; r++) lines.push(`    ip saddr @f${r % c.sets.length} tcp dport ${1024 + (r % 60000)} counter name "c${r % Math.max(1, n.counters)}" accept`);
  lines.push("  }", "  chain forward {", "    type filter hook forward priority filter; policy accept;", "    jump rules", "  }", "}");
  return lines.join("\n") + "\n";
}

/** Every set's elements as the kernel lists them, against the model's: the sets that differ. */
async function kernelDiffers(c: CompiledRuleset): Promise<string[]> {
  const listed = JSON.parse(await execHere("nft", ["-j", "list", "table", "inet", "weft-policy"])) as { nftables: { set?: { name: string; elem?: unknown[] } }[] };
  const text = (e: unknown): string => (typeof e === "object" && e && "concat" in e ? (e as { concat: unknown[] }).concat.map(String).join(" . ") : String(e));
  const kernel = new Map(listed.nftables.flatMap((x) => (x.set ? [[x.set.name, (x.set.elem ?? []).map(text).sort().join(",")] as const] : [])));
  return c.sets.filter((s) => kernel.get(s.name) !== [...s.elements].sort().join(",")).map((s) => s.name);
}

class ModelSync {
  readonly table = new PolicyTable(execHere, undefined, new NetlinkElementWriter());
  last: { cluster: Cluster; compiled: CompiledRuleset } | undefined;
  constructor(private readonly syn: Synthetic) {}

  private build(): Cluster {
    return buildCluster({ pods: this.syn.pods, namespaces: this.syn.namespaces, nodes: [], networkPolicies: this.syn.policies, clusterNetworkPolicies: [], records: [], nodeName: NODE }).cluster;
  }

  /** The compile path: what every sync was before, and still is for a policy change. */
  async compiled(forceFull: boolean): Promise<SyncTimes> {
    const t0 = now();
    const cluster = this.build();
    const t1 = now();
    const compiled0 = compile(cluster, NODE);
    const t2 = now();
    const compiled = withPolicyCounters(compiled0, cluster);
    const t3 = now();
    const { script } = this.table.plan(compiled, forceFull); // what apply renders, timed alone (apply renders it again: < 1 % of the total)
    const t4 = now();
    const kind = await this.table.apply(compiled, forceFull);
    const t5 = now();
    this.last = { cluster, compiled };
    return { build: t1 - t0, compile: t2 - t1, counters: t3 - t2, render: t4 - t3, nft: t5 - t4, total: t5 - t0 - (t4 - t3), kind, scriptBytes: script.length };
  }

  /** The element path: a change of pods or namespace labels, from the stores to the kernel's ACK. */
  async elements(): Promise<ElementTimes> {
    const last = this.last!;
    const t0 = now();
    const cluster = this.build();
    const t1 = now();
    const delta = podDelta(last.cluster, cluster, last.compiled);
    const t2 = now();
    if (delta.kind !== "elements") throw new Error(`a pod change needed a compile: ${delta.reason}`);
    const kind = await this.table.applyElements(last.compiled, delta.next, delta.changes);
    const t3 = now();
    this.last = { cluster, compiled: delta.next };
    return { build: t1 - t0, delta: t2 - t1, write: t3 - t2, total: t3 - t0, kind, elements: elementCount(delta.changes), sets: delta.changes.length };
  }
}

interface ChangeRun {
  fast: ElementTimes;
  old: SyncTimes;
  nftAlone: number;
  diff: string;
}

/** A label change as an informer delivers it: a new object in the store, the old one as it was. */
function relabelled<T extends { metadata: { labels?: Record<string, string> } }>(o: T, key: string, value: string): T {
  return { ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, [key]: value } } };
}
const roleOf = (p: { metadata: { labels?: Record<string, string> } }): string => p.metadata.labels?.role ?? ROLES[0]!;

/** Each timed step starts after a pause, as weftd's do (a change waits COALESCE_MS): the last step's work (a child's exit, the kernel's cleanup after a commit) is not charged to the next. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

/** One change three ways: the element path (timed), back (not timed), the compile path (timed), then `nft -f` of its diff alone. */
async function measureChange(m: ModelSync, apply: () => void, revert: () => void): Promise<ChangeRun> {
  await settle();
  apply();
  const fast = await m.elements();
  if (fast.kind !== "elements") throw new Error(`the change applied as ${fast.kind}, not as elements`);
  revert();
  await m.elements();
  const before = m.last!.compiled;
  await settle();
  apply();
  const old = await m.compiled(false);
  if (old.kind !== "diff") throw new Error(`the change applied as ${old.kind}, not as a diff`);
  const after = m.last!.compiled;
  const diff = diffRulesets(before, after);
  if (!/^((add|delete) element .*\n)+$/.test(diff)) throw new Error(`the change's diff is not elements only:\n${diff.slice(0, 500)}`);
  await execHere("nft", ["-f", "-"], diffRulesets(after, before));
  await settle();
  const t = now();
  await execHere("nft", ["-f", "-"], diff);
  return { fast, old, nftAlone: now() - t, diff };
}

export async function model(cfg: { namespaces: number; podsPerNamespace: number; policies: number; fullRuns: number; labelRuns: number; namespaceRuns: number }): Promise<unknown> {
  const syn = synthetic(cfg.namespaces, cfg.podsPerNamespace, cfg.policies, () => NODE);
  const m = new ModelSync(syn);
  const full: SyncTimes[] = [];
  for (let i = 0; i < cfg.fullRuns; i++) full.push(await m.compiled(true));
  const text = renderRuleset(m.last!.compiled);
  // The same text through nft alone, and a flat table of the same size.
  const rawNft: number[] = [];
  const flat = flatTable(m.last!.compiled);
  const flatNft: number[] = [];
  for (let i = 0; i < cfg.fullRuns; i++) {
    let t = now();
    await execHere("nft", ["-f", "-"], text);
    rawNft.push(now() - t);
    t = now();
    await execHere("nft", ["-f", "-"], flat);
    flatNft.push(now() - t);
  }
  await execHere("nft", ["delete", "table", "inet", "bench-flat"]);
  await m.compiled(true); // the table applied as weftd holds it; the changes start from here

  // One pod's label change: each run moves a different pod's role (and so its peer-set memberships).
  const label: ChangeRun[] = [];
  for (let i = 0; i < cfg.labelRuns; i++) {
    const k = (i * 37) % syn.pods.length;
    const [from, to] = [roleOf(syn.pods[k]!), ROLES[(ROLES.indexOf(roleOf(syn.pods[k]!)) + 1) % ROLES.length]!];
    label.push(await measureChange(m, () => (syn.pods[k] = relabelled(syn.pods[k]!, "role", to)), () => (syn.pods[k] = relabelled(syn.pods[k]!, "role", from))));
  }
  // One namespace's label change: env prod ↔ dev moves its pods in and out of the egress peer sets.
  const namespace: ChangeRun[] = [];
  for (let i = 0; i < cfg.namespaceRuns; i++) {
    const k = (i * 7) % syn.namespaces.length;
    const from = syn.namespaces[k]!.metadata.labels?.env ?? "dev";
    const to = from === "prod" ? "dev" : "prod";
    namespace.push(await measureChange(m, () => (syn.namespaces[k] = relabelled(syn.namespaces[k]!, "env", to)), () => (syn.namespaces[k] = relabelled(syn.namespaces[k]!, "env", from))));
  }
  // The last change through the element path once more, then the kernel's every set against the model's.
  syn.pods[1] = relabelled(syn.pods[1]!, "role", ROLES[(ROLES.indexOf(roleOf(syn.pods[1]!)) + 1) % ROLES.length]!);
  await m.elements();
  m.table.close();
  const differs = await kernelDiffers(m.last!.compiled);
  const listed = JSON.parse(await execHere("nft", ["-j", "list", "table", "inet", "weft-policy"])) as { nftables: { rule?: unknown; set?: { elem?: unknown[] } }[] };
  const inKernel = { rules: listed.nftables.filter((x) => x.rule).length, elements: listed.nftables.reduce((a, x) => a + (x.set?.elem?.length ?? 0), 0), setsDifferingFromModel: differs };
  const slim = (r: ChangeRun): Omit<ChangeRun, "diff"> => ({ fast: r.fast, old: r.old, nftAlone: r.nftAlone });
  return { size: { ...counts(m.last!.compiled), pods: syn.pods.length, policies: syn.policies.length, textBytes: text.length, flatBytes: flat.length }, inKernel, full, rawNft, flatNft, label: label.map(slim), namespace: namespace.map(slim), diffSample: label[0]?.diff };
}
