// explain: for one flow, who each side is, which policies select it in each tier, and the verdict
// with the rule that gave it — as JSON for tools and as text for people. Same model as the kernel's.
import { ClusterIndex, endpointText, type Endpoint } from "./cluster-index.js";
import { clusterPoliciesSelecting } from "./cluster-policy-tier.js";
import { evaluateResolved, resolveFlow } from "./evaluate.js";
import { networkPoliciesIsolating } from "./network-policy-tier.js";
import type { Cluster, Decision, Direction, Flow, Verdict } from "./types.js";

export interface SideExplanation {
  endpoint: string;
  /** Policies that apply to this side for the direction it plays (egress for the source, ingress for the destination). */
  direction: Direction;
  admin: string[];
  networkPolicies: string[];
  baseline: string[];
}

export interface Explanation {
  flow: string;
  source: SideExplanation;
  destination: SideExplanation;
  verdict: Verdict;
}

function side(cluster: Cluster, index: ClusterIndex, ep: Endpoint, direction: Direction): SideExplanation {
  const none = { endpoint: endpointText(ep), direction, admin: [], networkPolicies: [], baseline: [] };
  if (ep.kind !== "pod") return none;
  const named = (tier: "Admin" | "Baseline"): string[] => clusterPoliciesSelecting(cluster.clusterNetworkPolicies, tier, ep.pod, index).map((p) => `${p.metadata.name} (priority ${p.spec.priority})`);
  return {
    ...none,
    admin: named("Admin"),
    networkPolicies: networkPoliciesIsolating(cluster.networkPolicies, direction, ep.pod).map((np) => `${np.metadata.namespace}/${np.metadata.name}`),
    baseline: named("Baseline"),
  };
}

export function explain(cluster: Cluster, flow: Flow): Explanation {
  const index = new ClusterIndex(cluster);
  const f = resolveFlow(index, flow);
  return {
    flow: `${endpointText(f.source)} -> ${endpointText(f.destination)} ${flow.protocol}/${flow.port}`,
    source: side(cluster, index, f.source, "egress"),
    destination: side(cluster, index, f.destination, "ingress"),
    verdict: evaluateResolved(cluster, index, f),
  };
}

const list = (xs: string[]): string => (xs.length ? xs.join(", ") : "none");

function decisionText(d: Decision): string {
  const by = d.policy ? ` by ${d.tier === "NetworkPolicy" ? "NetworkPolicy" : `${d.tier} ClusterNetworkPolicy`} ${d.policy}${d.rule ? ` rule ${d.rule}` : ""}` : "";
  const pass = d.passedBy ? ` (after Admin ${d.passedBy.policy} rule ${d.passedBy.rule} passed it)` : "";
  return `${d.allowed ? "allowed" : "DENIED"}${by}${pass}: ${d.reason}`;
}

function sideText(label: string, s: SideExplanation): string[] {
  return [`${label}: ${s.endpoint}`, `  ${s.direction}: Admin ${list(s.admin)}; NetworkPolicy ${list(s.networkPolicies)}; Baseline ${list(s.baseline)}`];
}

export function explanationText(e: Explanation): string {
  const v = e.verdict;
  return [
    `flow: ${e.flow}`,
    ...sideText("source", e.source),
    ...sideText("destination", e.destination),
    `egress:  ${decisionText(v.egress)}`,
    `ingress: ${decisionText(v.ingress)}`,
    `verdict: ${v.allowed ? "ALLOW" : `DENY (${v.deniedBy})`}`,
  ].join("\n");
}
