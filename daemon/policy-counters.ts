// Per-policy packet counters: every rule a policy compiled to counts into a named nft counter of that
// policy and verdict, and a packet a NetworkPolicy isolation drops counts into the first policy (by
// name) that isolates its pod. weftd reads them over netlink at each scrape (as the anti-spoofing
// filter's) and exports weft_policy_packets_total{policy,verdict}.
import { createHash } from "node:crypto";
import { Counter, type Registry } from "prom-client";
import { nftCounterPackets } from "../netlink/index.js";
import { selectorText } from "./policy/labels.js";
import { POLICY_TABLE, type CompiledRuleset } from "./policy/nft-ruleset.js";
import { policyTypesOf } from "./policy/selection.js";
import type { Cluster } from "./policy/types.js";

export interface CounterLabel {
  policy: string;
  verdict: "accepted" | "dropped" | "passed";
}

const hash = (s: string): string => createHash("sha256").update(s).digest("hex").slice(0, 12);
export const counterName = (l: CounterLabel): string => `pc-${l.verdict}-${hash(l.policy)}`;

/** The rule's policy from its comment: `np ns/name …` → "ns/name", `cnp name …` → "name". */
const RULE = /^(.*?)(counter drop|drop|return|goto \S+) comment "(np|cnp) (\S+) [^"]*"$/;

function verdictOf(v: string): CounterLabel["verdict"] {
  return v.endsWith("drop") ? "dropped" : v.startsWith("goto") ? "passed" : "accepted";
}

/** The subject set compile gives a NetworkPolicy (compile-sets: one per selector key). */
const npSubjectSet = (ns: string, podSelector: object): string => `subject-${createHash("sha256").update(`subject|namespace ${ns}|pods ${selectorText(podSelector)}`).digest("hex").slice(0, 12)}`;

export function withPolicyCounters(c: CompiledRuleset, cluster: Cluster): CompiledRuleset {
  const labels = new Map<string, CounterLabel>();
  const counted = (l: CounterLabel): string => {
    const name = counterName(l);
    labels.set(name, l);
    return name;
  };
  const setNames = new Set(c.sets.map((s) => s.name));
  const chains = c.chains.map((ch) => {
    const rules = ch.rules.flatMap((r) => {
      const m = RULE.exec(r);
      if (!m) return [r];
      const [, match, verdict, , policy] = m as unknown as [string, string, string, string, string];
      const label: CounterLabel = { policy, verdict: verdictOf(verdict) };
      return [`${match}counter name "${counted(label)}" ${verdict === "counter drop" ? "drop" : verdict} comment "${r.slice(r.indexOf('comment "') + 9)}`];
    });
    const isolation = /^(ingress|egress)-isolated$/.exec(ch.name);
    if (!isolation) return { ...ch, rules };
    const d = isolation[1] as "ingress" | "egress";
    const field = d === "ingress" ? "daddr" : "saddr";
    const type = d === "ingress" ? "Ingress" : "Egress";
    const attribution = [...cluster.networkPolicies]
      .filter((np) => policyTypesOf(np).includes(type))
      .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`))
      .flatMap((np) => {
        const set = npSubjectSet(np.metadata.namespace, np.spec.podSelector);
        const name = counted({ policy: `${np.metadata.namespace}/${np.metadata.name}`, verdict: "dropped" });
        return (["v4", "v6"] as const).filter((f) => setNames.has(`${set}-${f}`)).map((f) => `${f === "v4" ? "ip" : "ip6"} ${field} @${set}-${f} counter name "${name}" drop comment "isolated by np ${np.metadata.namespace}/${np.metadata.name}"`);
      });
    const last = rules.pop() as string;
    return { ...ch, rules: [...rules, ...attribution, last] };
  });
  return { ...c, chains, counters: [...labels.keys()].sort(), labels } as CompiledRuleset & { labels: Map<string, CounterLabel> };
}

/** weft_policy_packets_total, read from the kernel's counters at each scrape. */
export class PolicyCounters {
  private labels = new Map<string, CounterLabel>();
  private last = new Map<string, number>();

  constructor(registry: Registry) {
    const read = (): Map<string, number> => this.read();
    const labelOf = (name: string): CounterLabel | undefined => this.labels.get(name);
    new Counter({
      name: "weft_policy_packets_total",
      help: "Packets each policy accepted, dropped or passed on to the next tier on this node (nft named counters of table inet weft-policy; a connection's first packet, the rest are accepted as established)",
      labelNames: ["policy", "verdict"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [name, packets] of read()) {
          const l = labelOf(name);
          if (l) this.inc(l as unknown as Record<"policy" | "verdict", string>, packets);
        }
      },
    });
  }

  follow(c: CompiledRuleset): void {
    this.labels = (c as CompiledRuleset & { labels?: Map<string, CounterLabel> }).labels ?? new Map();
  }

  private read(): Map<string, number> {
    const names = [...this.labels.keys()];
    try {
      const packets = nftCounterPackets(names.map((name) => ({ family: "INET", table: POLICY_TABLE, name })));
      this.last = new Map(names.map((n, i) => [n, packets[i] ?? 0]));
    } catch {
      // a counter just removed, or the table not there yet: the last reading stands
    }
    return this.last;
  }
}
