// The policy model's Cluster, built from weftd's copies of the Kubernetes API (pods, namespaces,
// nodes, NetworkPolicies, ClusterNetworkPolicies) and from the plugin's IP records on this node. A
// record names its pod (K8S_POD_NAMESPACE/K8S_POD_NAME), so a pod the watch already holds is known
// with its labels and address the moment its IP is allocated, before its kubelet writes status.podIPs.
// Pure: no I/O, so the rules weftd programs can be checked without a cluster.
import type { RecordedPod } from "../ipam/pod-ip-store.js";
import type { ClusterNetworkPolicy as KubeClusterNetworkPolicy, Namespace, NetworkPolicy as KubeNetworkPolicy, Node, Pod } from "./kube-watches.js";
import { POLICY_LOG_ANNOTATION } from "./policy/drop-log.js";
import type { Cluster, ClusterNetworkPolicy, ContainerPort, NamespaceInfo, NetworkPolicy, PodInfo, Protocol } from "./policy/types.js";

export interface ClusterSources {
  pods: Pod[];
  namespaces: Namespace[];
  nodes: Node[];
  networkPolicies: KubeNetworkPolicy[];
  clusterNetworkPolicies: KubeClusterNetworkPolicy[];
  /** The plugin's records on this node. */
  records: RecordedPod[];
  /** This node's name, as its pods' spec.nodeName says it. */
  nodeName: string;
}

/** What the build noticed: local records whose pod the watch does not hold (left unjudged, so open). */
export interface BuiltCluster {
  cluster: Cluster;
  unknownRecords: RecordedPod[];
}

const podKey = (ns: string, name: string): string => `${ns}/${name}`;
const PROTOCOLS = new Set<string>(["TCP", "UDP", "SCTP"]);

/** A pod that ended holds no address any more: its IP may already be another pod's. */
const ended = (p: Pod): boolean => p.status?.phase === "Succeeded" || p.status?.phase === "Failed";

function statusIps(p: Pod): string[] {
  const ips = (p.status?.podIPs ?? []).map((x) => x.ip).filter(Boolean);
  return ips.length ? ips : p.status?.podIP ? [p.status.podIP] : [];
}

function containerPorts(p: Pod): ContainerPort[] {
  return (p.spec?.containers ?? []).flatMap((c) =>
    (c.ports ?? [])
      .filter((cp) => typeof cp.containerPort === "number")
      .map((cp) => ({ containerPort: cp.containerPort, ...(cp.name ? { name: cp.name } : {}), protocol: (PROTOCOLS.has(cp.protocol ?? "") ? cp.protocol : "TCP") as Protocol })),
  );
}

function podInfo(p: Pod, recorded: string[] | undefined, nodeName: string): PodInfo {
  const fromStatus = statusIps(p);
  return {
    namespace: p.metadata.namespace,
    name: p.metadata.name,
    // A copy: the model is a snapshot the next sync compares with (pod-delta), whatever holds the object.
    labels: { ...p.metadata.labels },
    // status.podIPs once written; until then the plugin's record on this node.
    ips: fromStatus.length ? fromStatus : (recorded ?? []),
    node: p.spec?.nodeName ?? (recorded ? nodeName : ""),
    ports: containerPorts(p),
    ...(p.spec?.hostNetwork ? { hostNetwork: true } : {}),
  };
}

/** The API's defaulting: policyTypes from the rules present when absent (the server does it; a raw object may lack it). */
function networkPolicy(np: KubeNetworkPolicy): NetworkPolicy {
  const spec = np.spec ?? {};
  return { metadata: { name: np.metadata.name, namespace: np.metadata.namespace }, spec: { ...spec, podSelector: spec.podSelector ?? {} } as NetworkPolicy["spec"] };
}

function clusterNetworkPolicy(cnp: KubeClusterNetworkPolicy): ClusterNetworkPolicy | undefined {
  const s = cnp.spec;
  if (!s || (s.tier !== "Admin" && s.tier !== "Baseline") || !s.subject) return undefined; // the API server rejects these
  return { metadata: { name: cnp.metadata.name }, spec: { ...s, tier: s.tier, priority: s.priority ?? 0 } as ClusterNetworkPolicy["spec"] };
}

/**
 * Model objects by the API object they came from (and what else went into them): the informers replace
 * an object when it changes and never change one in place, as client-go's do, so an unchanged object
 * gives the same model object, and the next sync's comparison (pod-delta) is a reference check for all
 * but what changed. Nothing reads a model object to change it.
 */
const models = new WeakMap<object, { inputs: string; model: unknown }>();
function modelOf<T>(raw: object, inputs: string, make: () => T): T {
  const hit = models.get(raw);
  if (hit && hit.inputs === inputs) return hit.model as T;
  const model = make();
  models.set(raw, { inputs, model });
  return model;
}

/** Labels with kubernetes.io/metadata.name, as the API server sets it; the drop-log annotation as a flag (only "true" turns it on). */
function namespaceInfo(n: Namespace): NamespaceInfo {
  const info: NamespaceInfo = { name: n.metadata.name, labels: { "kubernetes.io/metadata.name": n.metadata.name, ...(n.metadata.labels ?? {}) } };
  if (n.metadata.annotations?.[POLICY_LOG_ANNOTATION] === "true") info.policyLog = true;
  return info;
}

/** A node's addresses: InternalIP and ExternalIP. */
export function nodeAddresses(n: Node): string[] {
  return (n.status?.addresses ?? []).filter((a) => a.type === "InternalIP" || a.type === "ExternalIP").map((a) => a.address);
}

export function buildCluster(src: ClusterSources): BuiltCluster {
  const recordsByPod = new Map<string, string[]>();
  for (const r of src.records) {
    if (!r.podNamespace || !r.podName) continue;
    const ips = [r.ipv4, r.ipv6].filter((ip): ip is string => ip !== undefined);
    recordsByPod.set(podKey(r.podNamespace, r.podName), [...(recordsByPod.get(podKey(r.podNamespace, r.podName)) ?? []), ...ips]);
  }
  const pods = src.pods
    .filter((p) => !ended(p))
    .map((p) => {
      const recorded = recordsByPod.get(podKey(p.metadata.namespace, p.metadata.name));
      return modelOf(p, `${recorded?.join(",") ?? "-"} ${src.nodeName}`, () => podInfo(p, recorded, src.nodeName));
    });
  const known = new Set(pods.map((p) => podKey(p.namespace, p.name)));
  return {
    cluster: {
      namespaces: src.namespaces.map((n) => modelOf(n, "", () => namespaceInfo(n))),
      pods,
      nodes: src.nodes.map((n) => modelOf(n, "", () => ({ name: n.metadata.name, labels: n.metadata.labels ?? {}, ips: nodeAddresses(n) }))),
      networkPolicies: src.networkPolicies.map((np) => modelOf(np, "", () => networkPolicy(np))),
      clusterNetworkPolicies: src.clusterNetworkPolicies.map((cnp) => modelOf(cnp, "", () => clusterNetworkPolicy(cnp))).filter((c): c is ClusterNetworkPolicy => c !== undefined),
    },
    unknownRecords: src.records.filter((r) => !r.podNamespace || !r.podName || !known.has(podKey(r.podNamespace, r.podName))),
  };
}

/**
 * This node's name: the flag's, else the Node that has one of weftd's underlay addresses, else the
 * node the API binds the pods of this node's records to (Nodes not readable).
 */
export function ownNodeName(flag: string | undefined, nodes: Node[], underlay: string[], pods: Pod[] = [], records: RecordedPod[] = []): string | undefined {
  if (flag) return flag;
  const byAddress = nodes.find((n) => nodeAddresses(n).some((a) => underlay.includes(a)))?.metadata.name;
  if (byAddress) return byAddress;
  const recorded = new Set(records.map((r) => `${r.podNamespace}/${r.podName}`));
  return pods.find((p) => p.spec?.nodeName && recorded.has(`${p.metadata.namespace}/${p.metadata.name}`))?.spec?.nodeName;
}
