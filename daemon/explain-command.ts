// `weftd explain`: for one flow, against the Kubernetes API (a kubeconfig, else the pod's service
// account), the policies that select each side and the verdict with the rule that gave it — the same
// model, and the same Cluster building, weftd enforces. Lists once; watches nothing.
import yargs from "yargs";
import { KubeClient } from "../kube/client.js";
import { NODES } from "../kube/kinds.js";
import { inClusterConfig, loadKubeconfig } from "../kube/config.js";
import { CLUSTER_NETWORK_POLICIES, NAMESPACES, NETWORK_POLICIES, PODS, type KubeObject, type ResourceType } from "../kube/resources.js";
import type { ClusterNetworkPolicy, Namespace, NetworkPolicy, Node, Pod } from "./kube-watches.js";
import { buildCluster } from "./policy-cluster.js";
import { explain, explanationText } from "./policy/explain.js";
import type { FlowEndpoint, Protocol } from "./policy/types.js";

/** "ns/name" is a pod; anything else an address. */
const endpoint = (s: string): FlowEndpoint => (s.includes("/") && !s.includes(":") && !/^\d+\.\d+\.\d+\.\d+\//.test(s) ? { pod: s } : { ip: s });

async function listOf<T extends KubeObject>(client: KubeClient, type: ResourceType): Promise<T[]> {
  try {
    return (await client.list<T>(type)).items;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return []; // ClusterNetworkPolicy not served
    throw err;
  }
}

export async function runExplain(argv: string[]): Promise<number> {
  const a = yargs(argv)
    .scriptName("weftd explain")
    .usage("weftd explain --from NS/POD|IP --to NS/POD|IP [--port N] [--protocol TCP|UDP|SCTP]: which policies select each side, and the verdict with the rule that gave it")
    .options({
      from: { type: "string", demandOption: true, describe: "source: namespace/pod, or an address" },
      to: { type: "string", demandOption: true, describe: "destination (the pod a Service sends to): namespace/pod, or an address" },
      port: { type: "number", default: 80 },
      protocol: { type: "string", default: "TCP", choices: ["TCP", "UDP", "SCTP"] },
      family: { type: "number", choices: [4, 6], describe: "which of dual-stack pods' addresses" },
      kubeconfig: { type: "string", describe: "kubeconfig (its current context); default: the pod's service account" },
      json: { type: "boolean", default: false },
    })
    .strict()
    .help()
    .parseSync();
  const conn = a.kubeconfig ? loadKubeconfig(a.kubeconfig) : inClusterConfig();
  const client = new KubeClient(conn, { userAgent: "weftd-explain" });
  try {
    const [pods, namespaces, nodes, networkPolicies, clusterNetworkPolicies] = await Promise.all([
      listOf<Pod>(client, PODS),
      listOf<Namespace>(client, NAMESPACES),
      listOf<Node>(client, NODES),
      listOf<NetworkPolicy>(client, NETWORK_POLICIES),
      listOf<ClusterNetworkPolicy>(client, CLUSTER_NETWORK_POLICIES),
    ]);
    const { cluster } = buildCluster({ pods, namespaces, nodes, networkPolicies, clusterNetworkPolicies, records: [], nodeName: "" });
    const e = explain(cluster, { from: endpoint(a.from), to: endpoint(a.to), protocol: a.protocol as Protocol, port: a.port, ...(a.family ? { family: a.family as 4 | 6 } : {}) });
    process.stdout.write(a.json ? `${JSON.stringify(e, null, 2)}\n` : `${explanationText(e)}\n`);
    return e.verdict.allowed ? 0 : 3;
  } finally {
    client.close();
  }
}
