// Drop logging, compiled: every drop rule of the direction chains gets a twin just before it that
// matches the same packets of pods in namespaces annotated weft.dev/policy-log: "true" (the subject
// side: ingress drops by the destination pod, egress drops by the source pod) and logs them to an
// NFLOG group. `log` is not a verdict, so the drop that follows happens whether or not anyone reads
// the group; `limit` caps each rule's log rate in the kernel. The prefix is a short id of the rule that
// decided (a log prefix holds at most 127 bytes, 63 on older kernels; policy names are longer), and
// the table of ids goes back to weftd with the ruleset. An id is a hash of the chain and the drop
// rule's comment, so it is stable across recompiles: a packet logged just before a change still names
// its rule. No namespace annotated: the ruleset is returned as it was, not one byte changed.
import { createHash } from "node:crypto";
import { canonicalIp, familyOf, type Family } from "./cidr.js";
import type { CompiledRuleset, NftChain, NftSet } from "./nft-ruleset.js";
import type { Cluster, Direction, PodInfo } from "./types.js";

export const POLICY_LOG_ANNOTATION = "weft.dev/policy-log";
/** Prefixes weftd wrote start with this: another user of the group is told apart. */
export const DROP_LOG_PREFIX = "weft:";

export interface DropLogOptions {
  group: number;
  /** Per rule: `limit rate N/second burst 2N packets`. */
  ratePerSecond: number;
}

/** The rule a logged packet was dropped by. */
export interface DropRuleInfo {
  direction: Direction;
  tier: "Admin" | "NetworkPolicy" | "Baseline";
  /** "ns/name" of a NetworkPolicy; the name of a ClusterNetworkPolicy; absent where no one policy is named. */
  policy?: string;
  /** A ClusterNetworkPolicy's rule name. */
  rule?: string;
  /** In words, for a line that names no policy. */
  reason: string;
}

export interface DropLogged {
  ruleset: CompiledRuleset;
  /** Log prefix → the rule it stands for; empty when nothing logs. */
  rules: Map<string, DropRuleInfo>;
}

const LOG_SET = "log-pods";
const suffix = (f: Family): string => `v${f}`;
const ipKeyword = (f: Family): string => (f === 4 ? "ip" : "ip6");

/** A drop rule as compile and the counters write it: `<match> [counter [name "…"]] drop comment "…"`. */
const DROP = /^(.*?)\s*(?:counter(?: name "[^"]*")? )?drop comment "([^"]*)"$/;
const CHAIN = /^(ingress|egress)(?:-(isolated|baseline))?$/;

function ruleInfo(direction: Direction, chainKind: string | undefined, comment: string): DropRuleInfo {
  const tier = chainKind === "isolated" ? "NetworkPolicy" : chainKind === "baseline" ? "Baseline" : "Admin";
  const cnp = /^cnp (\S+) (.+) Deny$/.exec(comment);
  if (cnp) return { direction, tier, policy: cnp[1]!, rule: cnp[2]!, reason: `${tier} tier: ClusterNetworkPolicy ${cnp[1]} rule ${cnp[2]} denies` };
  const np = /^isolated by np (\S+)$/.exec(comment);
  if (np) return { direction, tier, policy: np[1]!, reason: `isolated by NetworkPolicy ${np[1]}; no rule of a policy selecting the pod allows` };
  return { direction, tier, reason: comment };
}

const idOf = (chain: string, comment: string): string => `${DROP_LOG_PREFIX}${createHash("sha256").update(`${chain}|${comment}`).digest("hex").slice(0, 10)}`;

/** The families a rule's match is limited to: by its `ip`/`ip6` matches, both when it has none. */
function familiesOf(match: string): Family[] {
  if (/(^|\s)ip6 /.test(match)) return [6];
  if (/(^|\s)ip /.test(match)) return [4];
  return [4, 6];
}

/**
 * The local pods whose namespace asked for logging: their addresses by family. The sets keep their
 * source, so a pod change stays set elements (pod-delta); a namespace's annotation changing is no pod
 * change, and recompiles, so the annotated namespaces it closes over stay true.
 */
function loggedPodSets(cluster: Cluster, node: string): NftSet[] {
  const annotated = new Set(cluster.namespaces.filter((n) => n.policyLog).map((n) => n.name));
  const logged = (p: PodInfo): boolean => p.node === node && !p.hostNetwork && annotated.has(p.namespace);
  const addresses = (p: PodInfo, f: Family): string[] => p.ips.filter((ip) => familyOf(ip) === f).map(canonicalIp);
  const pods = cluster.pods.filter(logged);
  const names = pods.map((p) => `${p.namespace}/${p.name}`);
  const comment = `pods in namespaces annotated ${POLICY_LOG_ANNOTATION}: ${names.slice(0, 6).join(" ")}${names.length > 6 ? " …" : ""}`;
  return ([4, 6] as const).map((f) => ({
    name: `${LOG_SET}-${suffix(f)}`,
    type: f === 4 ? "ipv4_addr" : "ipv6_addr",
    comment,
    elements: [...new Set(pods.flatMap((p) => addresses(p, f)))].sort(),
    source: { elementsOf: (p) => (logged(p) ? addresses(p, f) : []) },
  }));
}

export function withDropLogging(c: CompiledRuleset, cluster: Cluster, node: string, o: DropLogOptions): DropLogged {
  const rules = new Map<string, DropRuleInfo>();
  if (!cluster.namespaces.some((n) => n.policyLog)) return { ruleset: c, rules };
  const limit = `limit rate ${o.ratePerSecond}/second burst ${o.ratePerSecond * 2} packets`;
  const chains = c.chains.map((ch): NftChain => {
    const kind = CHAIN.exec(ch.name);
    if (!kind) return ch;
    const direction = kind[1] as Direction;
    const subject = direction === "ingress" ? "daddr" : "saddr";
    return {
      ...ch,
      rules: ch.rules.flatMap((r) => {
        const m = DROP.exec(r);
        if (!m) return [r];
        const [, match = "", comment = ""] = m;
        const id = idOf(ch.name, comment);
        rules.set(id, ruleInfo(direction, kind[2], comment));
        const twins = familiesOf(match).map((f) => [match, `${ipKeyword(f)} ${subject} @${LOG_SET}-${suffix(f)}`, limit, `log prefix "${id}" group ${o.group}`].filter(Boolean).join(" "));
        return [...twins, r];
      }),
    };
  });
  return { ruleset: { ...c, sets: [...c.sets, ...loggedPodSets(cluster, node)], chains }, rules };
}
