// The nftables ruleset for the pods of one node, compiled from the same model `evaluate` reads.
//
// Hooks: `forward` at priority filter (0) judges pod traffic the node routes or bridges (bridge
// netfilter is on, so pod-to-pod on one bridge passes here too); it runs after prerouting, where
// Service DNAT (priority dstnat, -100) already rewrote the destination, so Service traffic is judged
// by the pod it reaches. `input` judges the egress of local pods to the node itself. Traffic the node
// sends (kubelet probes) goes through output and is never judged: a pod's own node is always allowed.
// Established and related packets are accepted first: a connection keeps the verdict of its first
// packet until conntrack forgets it, so a new policy applies to new connections — except a flow
// --policy-strict marked as cut (CUT_FLOW_MARK on its conntrack entry), dropped in both directions
// before that. ICMPv6 neighbour discovery is never blocked.
//
// Each direction runs Admin tier → NetworkPolicy → Baseline tier in chains linked by goto, so a
// `return` anywhere ends that direction allowed (back in the hook chain), a drop ends the packet.
import type { Family } from "./cidr.js";
import { parseCidr, cidrText } from "./cidr.js";
import { ClusterIndex } from "./cluster-index.js";
import { clusterPoliciesOfTier, clusterRuleName } from "./cluster-policy-tier.js";
import { FAMILIES, ipKeyword, namespacedPodSelection, namespacedSelection, SetRegistry } from "./compile-sets.js";
import type { CompiledRuleset, NftChain } from "./nft-ruleset.js";
import { peerIsUnknown, policyTypesOf } from "./selection.js";
import { isolatesFor } from "./network-policy-tier.js";
import { protocolFieldOf } from "./ports.js";
import type {
  Cluster,
  ClusterNetworkPolicy,
  ClusterNetworkPolicyEgressPeer,
  ClusterNetworkPolicyProtocol,
  Direction,
  NetworkPolicy,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  RuleAction,
  Tier,
} from "./types.js";

/** Match fragments for one family; undefined: this alternative cannot match in that family. */
type Fragment = (f: Family) => string | undefined;
const ANY: Fragment = () => "";

/**
 * The conntrack mark bit --policy-strict sets on a flow a change now denies (daemon/policy-strict.ts).
 * Marked, not deleted: a deleted entry is picked up again mid-stream by whichever side sends next, and
 * from the server's side the flow is its egress, which the policy allows.
 */
export const CUT_FLOW_MARK = 0x01000000;
const HEX_MARK = `0x${CUT_FLOW_MARK.toString(16).padStart(8, "0")}`;
export const CUT_FLOW_DROP = `ct mark & ${HEX_MARK} == ${HEX_MARK} counter drop comment "a flow --policy-strict cut"`;
const ND_TYPES = "{ nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, nd-redirect }";

interface Ctx {
  index: ClusterIndex;
  sets: SetRegistry;
}

/** The field of the other end: the source for ingress, the destination for egress. */
const peerField = (d: Direction): string => (d === "ingress" ? "saddr" : "daddr");
const subjectField = (d: Direction): string => (d === "ingress" ? "daddr" : "saddr");

function cidrFragment(cidrs: string[], field: string, negate = false): Fragment {
  return (f) => {
    const mine = cidrs.map(parseCidr).filter((c) => c.family === f).map(cidrText);
    if (mine.length === 0) return negate ? "" : undefined;
    return `${ipKeyword(f)} ${field} ${negate ? "!= " : ""}{ ${mine.join(", ")} }`;
  };
}

function npPeerFragment(ctx: Ctx, peer: NetworkPolicyPeer, d: Direction, namespace: string): Fragment {
  if (peer.ipBlock) {
    const inBlock = cidrFragment([peer.ipBlock.cidr], peerField(d));
    const notExcept = cidrFragment(peer.ipBlock.except ?? [], peerField(d), true);
    return (f) => {
      const a = inBlock(f);
      return a === undefined ? undefined : `${a} ${notExcept(f)}`.trim();
    };
  }
  const set = ctx.sets.podSet("peer", namespacedSelection("peer", peer.namespaceSelector, peer.podSelector, namespace, ctx.index), false);
  return (f) => `${ipKeyword(f)} ${peerField(d)} @${set(f)}`;
}

function namedPortFragment(ctx: Ctx, name: string, protocol?: string): Fragment {
  const set = ctx.sets.namedPortSet(name);
  return (f) => `${protocol ? `meta l4proto ${protocol} ` : ""}${ipKeyword(f)} daddr . meta l4proto . th dport @${set(f)}`;
}

function npPortFragment(ctx: Ctx, p: NetworkPolicyPort): Fragment {
  const proto = (p.protocol ?? "TCP").toLowerCase();
  if (p.port === undefined) return () => `meta l4proto ${proto}`;
  if (typeof p.port === "string") return namedPortFragment(ctx, p.port, proto);
  const range = p.endPort !== undefined ? `${p.port}-${p.endPort}` : `${p.port}`;
  return () => `${proto} dport ${range}`;
}

function cnpProtocolFragment(ctx: Ctx, p: ClusterNetworkPolicyProtocol): Fragment {
  if (p.destinationNamedPort !== undefined) return namedPortFragment(ctx, p.destinationNamedPort);
  const proto = (protocolFieldOf(p) ?? "TCP").toLowerCase();
  const dp = (p.tcp ?? p.udp ?? p.sctp)?.destinationPort;
  if (!dp) return () => `meta l4proto ${proto}`;
  return () => `${proto} dport ${dp.range ? `${dp.range.start}-${dp.range.end}` : dp.number}`;
}

function cnpPeerFragment(ctx: Ctx, peer: ClusterNetworkPolicyEgressPeer, d: Direction, action: RuleAction): Fragment | undefined {
  if (peerIsUnknown(peer)) return action === "Accept" ? undefined : ANY; // fail closed
  if (peer.networks) return cidrFragment(peer.networks, peerField(d));
  if (peer.nodes) {
    const set = ctx.sets.nodeSet(peer.nodes);
    return (f) => `${ipKeyword(f)} ${peerField(d)} @${set(f)}`;
  }
  if (peer.domainNames) return undefined; // needs DNS snooping; never matches here
  const sel = peer.pods ? namespacedPodSelection("peer", peer.pods, ctx.index) : namespacedSelection("peer", peer.namespaces, {}, undefined, ctx.index);
  const set = ctx.sets.podSet("peer", sel, false);
  return (f) => `${ipKeyword(f)} ${peerField(d)} @${set(f)}`;
}

/** subject × peers × ports × families, each alternative one rule ending in `verdict`. */
function expand(subject: Fragment, peers: Fragment[], ports: Fragment[], verdict: string, comment: string): string[] {
  const rules: string[] = [];
  for (const f of FAMILIES)
    for (const peer of peers.length ? peers : [ANY])
      for (const port of ports.length ? ports : [ANY]) {
        const parts = [subject(f), peer(f), port(f)];
        if (parts.some((p) => p === undefined)) continue;
        rules.push([...parts.filter((p) => p), verdict, `comment "${comment.slice(0, 120)}"`].join(" "));
      }
  return rules;
}

function networkPolicyRules(ctx: Ctx, np: NetworkPolicy, d: Direction): string[] {
  const ns = np.metadata.namespace;
  const subject = ctx.sets.podSet("subject", namespacedSelection("subject", undefined, np.spec.podSelector, ns, ctx.index), true);
  const subjectFrag: Fragment = (f) => `${ipKeyword(f)} ${subjectField(d)} @${subject(f)}`;
  const rules = (d === "ingress" ? np.spec.ingress : np.spec.egress) ?? [];
  return rules.flatMap((rule, i) => {
    const peers = ("from" in rule ? rule.from : "to" in rule ? rule.to : undefined) ?? [];
    return expand(subjectFrag, peers.map((p) => npPeerFragment(ctx, p, d, ns)), (rule.ports ?? []).map((p) => npPortFragment(ctx, p)), "return", `np ${ns}/${np.metadata.name} ${d}[${i}]`);
  });
}

function clusterPolicyRules(ctx: Ctx, cnp: ClusterNetworkPolicy, d: Direction, verdicts: Record<RuleAction, string>): string[] {
  const s = cnp.spec.subject;
  if (!s.pods && !s.namespaces) return []; // selects no pod
  const sel = s.pods ? namespacedPodSelection("subject", s.pods, ctx.index) : namespacedSelection("subject", s.namespaces, {}, undefined, ctx.index);
  const subject = ctx.sets.podSet("subject", sel, true);
  const subjectFrag: Fragment = (f) => `${ipKeyword(f)} ${subjectField(d)} @${subject(f)}`;
  const rules = (d === "ingress" ? cnp.spec.ingress : cnp.spec.egress) ?? [];
  return rules.flatMap((rule, i) => {
    const peerList: ClusterNetworkPolicyEgressPeer[] = "from" in rule ? rule.from : rule.to;
    const peers = peerList.map((p) => cnpPeerFragment(ctx, p, d, rule.action)).filter((p): p is Fragment => p !== undefined);
    if (peers.length === 0) return [];
    const comment = `cnp ${cnp.metadata.name} ${clusterRuleName(rule, d, i)} ${rule.action}`;
    return expand(subjectFrag, peers, (rule.protocols ?? []).map((p) => cnpProtocolFragment(ctx, p)), verdicts[rule.action], comment);
  });
}

function tierRules(ctx: Ctx, cluster: Cluster, tier: Tier, d: Direction, verdicts: Record<RuleAction, string>): string[] {
  return clusterPoliciesOfTier(cluster.clusterNetworkPolicies, tier).flatMap((cnp) => clusterPolicyRules(ctx, cnp, d, verdicts));
}

/** The four chains of one direction, leaves first. */
function directionChains(ctx: Ctx, cluster: Cluster, node: string, d: Direction): NftChain[] {
  const type = d === "ingress" ? "Ingress" : "Egress";
  const isolated = ctx.sets.localPodSet(`isolated-${d}`, `local pods a NetworkPolicy isolates for ${d}`, isolatesFor(cluster.networkPolicies, d));
  const policies = [...cluster.networkPolicies]
    .filter((np) => policyTypesOf(np).includes(type))
    .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`));
  const field = subjectField(d);
  return [
    { name: `${d}-isolated`, rules: [...policies.flatMap((np) => networkPolicyRules(ctx, np, d)), `counter drop comment "isolated by a NetworkPolicy, no rule allows"`] },
    { name: `${d}-baseline`, rules: tierRules(ctx, cluster, "Baseline", d, { Accept: "return", Deny: "counter drop", Pass: "return" }) },
    { name: `${d}-networkpolicy`, rules: [...FAMILIES.map((f) => `${ipKeyword(f)} ${field} @${isolated(f)} goto ${d}-isolated`), `goto ${d}-baseline`] },
    { name: d, rules: [...tierRules(ctx, cluster, "Admin", d, { Accept: "return", Deny: "counter drop", Pass: `goto ${d}-networkpolicy` }), `goto ${d}-networkpolicy`] },
  ];
}

export function compile(cluster: Cluster, node: string): CompiledRuleset {
  const index = new ClusterIndex(cluster);
  const ctx: Ctx = { index, sets: new SetRegistry(index, node) };
  const local = ctx.sets.localPodSet("local-pods", `pods on ${node}`, () => true);
  const chains = [...directionChains(ctx, cluster, node, "egress"), ...directionChains(ctx, cluster, node, "ingress")];
  const first = [CUT_FLOW_DROP, "ct state established,related accept", `icmpv6 type ${ND_TYPES} accept`];
  const jumps = (field: string, target: string): string[] => FAMILIES.map((f) => `${ipKeyword(f)} ${field} @${local(f)} jump ${target}`);
  chains.push(
    { name: "forward", hook: "type filter hook forward priority filter; policy accept;", rules: [...first, ...jumps("saddr", "egress"), ...jumps("daddr", "ingress")] },
    { name: "input", hook: "type filter hook input priority filter; policy accept;", rules: [...first, ...jumps("saddr", "egress")] },
  );
  return { sets: ctx.sets.all(), chains };
}
