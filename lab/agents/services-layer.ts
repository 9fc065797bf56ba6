// What a cluster runs on top of the pod network, in the lab, every piece an API client: the controller
// manager and scheduler (in the first node's namespace), a kubelet and a weft-proxy (kube-proxy) per
// node, and cluster DNS (a CoreDNS Deployment behind the kube-dns Service at 10.96.0.10), deployed
// through the API like any workload.
import { join } from "node:path";
import { KubeClient } from "../../kube/client.js";
import { loadKubeconfig } from "../../kube/config.js";
import { ENDPOINT_SLICES } from "../../kube/kinds.js";
import { ipFamilyOf, type EndpointSlice } from "../../proxy/model.js";
import { readyAddresses } from "../apiserver/endpoints.js";
import { routePodSubnetToApi } from "../apiserver/lab-apiserver.js";
import type { Manifest } from "../apiserver/manifests.js";
import { labFamilies, PLANS, primaryPlan } from "../cluster/addressing.js";
import { REPO, SELF } from "../cluster/paths.js";
import { pidAlive, spawnInNetns, waitFor } from "../cluster/sh.js";
import { saveState, type LabNode, type LabState } from "../cluster/state.js";
import { apply } from "./apply.js";
import { nodeIps, podCidrs } from "./node-object.js";

export const PROXY = join(REPO, "dist", "lab", "weft-proxy.cjs");

const labKubeconfig = (state: LabState): string => {
  if (!state.apiserver) throw new Error("the lab has no API server");
  return state.apiserver.labKubeconfig;
};

export function startProxy(state: LabState, node: LabNode): void {
  // One proxier per family the node has an address of, as kube-proxy runs on a dual-stack node.
  const clusterCidrs = nodeIps(node).map((ip) => PLANS[ipFamilyOf(ip)].podNetwork);
  node.proxyPid = spawnInNetns(node.netns, process.execPath, [PROXY, "--node-name", node.name, "--proxy-mode", state.options.proxyMode, "--cluster-cidr", clusterCidrs.join(","), "--node-ip", nodeIps(node).join(","), "--lb-speaker-iface", "eth0", "--kubeconfig", labKubeconfig(state)], join(node.dir, "weft-proxy.log"));
  state.pids.push(node.proxyPid);
  saveState(state);
}

export function startKubelet(state: LabState, node: LabNode): void {
  node.kubeletPid = spawnInNetns(node.netns, process.execPath, [SELF, "agent", "kubelet", "--dir", state.dir, node.name, labKubeconfig(state)], join(node.dir, "kubelet.log"));
  state.pids.push(node.kubeletPid);
  saveState(state);
}

/** A node joins the cluster: the API server routes to its pods, its kubelet registers it, its proxy starts. */
export function joinNode(state: LabState, node: LabNode): void {
  const [cidr] = podCidrs(node);
  if (cidr) routePodSubnetToApi(state, node, cidr);
  startKubelet(state, node);
  startProxy(state, node);
}

/** CoreDNS behind the kube-dns Service, at the lab's first family's cluster DNS address. */
const clusterDns = (state: LabState): Manifest[] => [
  {
    kind: "Deployment",
    obj: {
      kind: "Deployment",
      metadata: { name: "coredns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" } },
      spec: { replicas: 1, selector: { matchLabels: { "k8s-app": "kube-dns" } }, template: { metadata: { labels: { "k8s-app": "kube-dns" } }, spec: { containers: [{ name: "coredns", image: "registry.k8s.io/coredns/coredns:v1.11.1", ports: [{ name: "dns-tcp", containerPort: 53, protocol: "TCP" }, { name: "dns", containerPort: 53, protocol: "UDP" }] }] } } },
    },
  },
  {
    kind: "Service",
    obj: { apiVersion: "v1", kind: "Service", metadata: { name: "kube-dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" } }, spec: { clusterIP: primaryPlan(state).clusterDns, selector: { "k8s-app": "kube-dns" }, ports: [{ name: "dns", port: 53, protocol: "UDP", targetPort: 53 }, { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: 53 }] } },
  },
];

/** The ready addresses behind a Service, read from the API. */
export async function readyServiceAddresses(state: LabState, service: string, namespace?: string): Promise<string[]> {
  if (!state.apiserver) return [];
  const client = new KubeClient(loadKubeconfig(state.apiserver.kubeconfig));
  try {
    const slices = (await client.list(ENDPOINT_SLICES, namespace ? { namespace } : {})).items as unknown as EndpointSlice[];
    return readyAddresses(slices, service);
  } finally {
    client.close();
  }
}

export async function startServices(state: LabState): Promise<void> {
  const first = state.nodes[0];
  if (!first) throw new Error("the lab has no nodes");
  const pools = labFamilies(state).map((f) => PLANS[f].lbPool.join("-"));
  state.controllerPid = spawnInNetns(first.netns, process.execPath, [SELF, "agent", "controller-manager", "--dir", state.dir, labKubeconfig(state), pools.join(",")], join(state.dir, "controller.log"));
  state.pids.push(state.controllerPid);
  saveState(state);
  for (const node of state.nodes) joinNode(state, node);
  await apply(state, clusterDns(state));
  await waitFor("cluster DNS to be ready (see controller.log and the kubelets' logs)", async () => (await readyServiceAddresses(state, "kube-dns", "kube-system")).length > 0, 20_000);
  // A proxy that exited at its start (a flag it refused, a module it could not load) leaves Services dead: said here, not found later.
  const dead = state.nodes.filter((n) => n.proxyPid && !pidAlive(n.proxyPid));
  if (dead.length) throw new Error(`weft-proxy exited on ${dead.map((n) => n.name).join(", ")}: see ${dead.map((n) => join(n.dir, "weft-proxy.log")).join(", ")}`);
}
