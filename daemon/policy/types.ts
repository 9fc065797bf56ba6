// The policy model's inputs: NetworkPolicy (networking.k8s.io/v1) and ClusterNetworkPolicy
// (policy.networking.k8s.io/v1alpha2) as their APIs define them, the cluster they apply to, and the
// flow a verdict is asked for. Only data: the model reads these, nothing here does I/O.

export type Protocol = "TCP" | "UDP" | "SCTP";

export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

/** metav1.LabelSelector: the requirements are ANDed; an empty selector selects everything. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

// ---- networking.k8s.io/v1 NetworkPolicy ----

export interface IPBlock {
  cidr: string;
  except?: string[];
}

/**
 * One peer. podSelector and namespaceSelector in the same peer are ANDed (pods matching the one in
 * namespaces matching the other); listing them as two peers ORs them. ipBlock stands alone.
 */
export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: IPBlock;
}

export interface NetworkPolicyPort {
  /** Defaults to TCP, as the API server does. */
  protocol?: Protocol;
  /** A number, or a container port's name resolved on the destination pod; absent: every port. */
  port?: number | string;
  /** With a numeric port: the inclusive end of a range. */
  endPort?: number;
}

/** from/to and ports absent or empty match everything; present lists are ORed within and ANDed across. */
export interface NetworkPolicyIngressRule {
  from?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}
export interface NetworkPolicyEgressRule {
  to?: NetworkPolicyPeer[];
  ports?: NetworkPolicyPort[];
}

export type PolicyType = "Ingress" | "Egress";

export interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: PolicyType[];
  ingress?: NetworkPolicyIngressRule[];
  egress?: NetworkPolicyEgressRule[];
}

export interface NetworkPolicy {
  metadata: { name: string; namespace: string };
  spec: NetworkPolicySpec;
}

// ---- policy.networking.k8s.io/v1alpha2 ClusterNetworkPolicy ----

export type Tier = "Admin" | "Baseline";
export type RuleAction = "Accept" | "Deny" | "Pass";

/** Pods selected by namespace AND pod selector. */
export interface NamespacedPod {
  namespaceSelector: LabelSelector;
  podSelector: LabelSelector;
}

/** Exactly one of namespaces or pods; host-network pods are never selected. */
export interface ClusterNetworkPolicySubject {
  namespaces?: LabelSelector;
  pods?: NamespacedPod;
}

export interface ClusterNetworkPolicyIngressPeer {
  namespaces?: LabelSelector;
  pods?: NamespacedPod;
}

export interface ClusterNetworkPolicyEgressPeer {
  namespaces?: LabelSelector;
  pods?: NamespacedPod;
  /** Nodes by label: their addresses (host-network pods count as their node). */
  nodes?: LabelSelector;
  /** CIDRs; pod addresses inside them match too. */
  networks?: string[];
  /** Accept only; needs DNS snooping the model does not have: never matches here. */
  domainNames?: string[];
}

export interface PortRange {
  start: number;
  end: number;
}
export interface CnpPort {
  number?: number;
  range?: PortRange;
}

/** Exactly one field; a protocol without destinationPort matches every port of it. */
export interface ClusterNetworkPolicyProtocol {
  tcp?: { destinationPort?: CnpPort };
  udp?: { destinationPort?: CnpPort };
  sctp?: { destinationPort?: CnpPort };
  destinationNamedPort?: string;
}

export interface ClusterNetworkPolicyIngressRule {
  name?: string;
  action: RuleAction;
  from: ClusterNetworkPolicyIngressPeer[];
  protocols?: ClusterNetworkPolicyProtocol[];
}

export interface ClusterNetworkPolicyEgressRule {
  name?: string;
  action: RuleAction;
  to: ClusterNetworkPolicyEgressPeer[];
  protocols?: ClusterNetworkPolicyProtocol[];
}

export interface ClusterNetworkPolicySpec {
  tier: Tier;
  /** 0..1000, lower first; ties are broken by name here (the API leaves them undefined). */
  priority: number;
  subject: ClusterNetworkPolicySubject;
  ingress?: ClusterNetworkPolicyIngressRule[];
  egress?: ClusterNetworkPolicyEgressRule[];
}

export interface ClusterNetworkPolicy {
  metadata: { name: string };
  spec: ClusterNetworkPolicySpec;
}

// ---- the cluster ----

export interface ContainerPort {
  containerPort: number;
  name?: string;
  protocol?: Protocol;
}

export interface PodInfo {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** Every address of the pod (dual-stack: one of each family). A host-network pod's are its node's. */
  ips: string[];
  node: string;
  ports: ContainerPort[];
  hostNetwork?: boolean;
}

export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
  /** Annotated weft.dev/policy-log: "true": its pods' dropped packets are logged. Only the rules compile; the verdict never reads it. */
  policyLog?: boolean;
}

export interface NodeInfo {
  name: string;
  labels: Record<string, string>;
  ips: string[];
}

export interface Cluster {
  namespaces: NamespaceInfo[];
  pods: PodInfo[];
  nodes: NodeInfo[];
  networkPolicies: NetworkPolicy[];
  clusterNetworkPolicies: ClusterNetworkPolicy[];
}

// ---- a flow and its verdict ----

/** "namespace/name" of a pod, or an address (a node, something outside the cluster, or a pod's). */
export type FlowEndpoint = { pod: string } | { ip: string };

export interface Flow {
  from: FlowEndpoint;
  /** The destination after Service DNAT: the pod (or address) the packet reaches. */
  to: FlowEndpoint;
  protocol: Protocol;
  port: number;
  /** Which of a dual-stack pod's addresses the flow uses; defaults to IPv4 when a pod has one. */
  family?: 4 | 6;
}

export type Direction = "egress" | "ingress";

/** Who decided one direction: a tier and, for a policy, its name and the rule. */
export interface Decision {
  allowed: boolean;
  tier: "Admin" | "NetworkPolicy" | "Baseline" | "Default" | "OwnNode" | "NotApplicable";
  /** "ns/name" for a NetworkPolicy, the name for a ClusterNetworkPolicy. */
  policy?: string;
  /** The rule's name (ClusterNetworkPolicy) or "ingress[0]" / "egress[2]" (NetworkPolicy, or unnamed). */
  rule?: string;
  action?: RuleAction;
  /** Why, in words: what matched or why nothing did. */
  reason: string;
  /** Admin rules that passed this flow on to the NetworkPolicy tier. */
  passedBy?: { policy: string; rule: string };
}

export interface Verdict {
  allowed: boolean;
  egress: Decision;
  ingress: Decision;
  /** The direction that denied it, or undefined when allowed. */
  deniedBy?: Direction;
}
