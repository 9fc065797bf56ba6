// What a cluster runs on top of the pod network, in the lab: the API objects file, the endpoints
// controller, a weft-proxy (kube-proxy) per node, and cluster DNS (a CoreDNS Deployment behind the
// kube-dns Service at 10.96.0.10), deployed through `apply` like any workload.
import { join } from "node:path";
import { ipFamilyOf, type Node } from "../../proxy/model.js";
import { labFamilies, PLANS, primaryPlan } from "../cluster/addressing.js";
import { emptyApi, readApi, updateApi, writeApi } from "../apiserver/api-store.js";
import { apply } from "./apply.js";
import { readyAddresses } from "../apiserver/endpoints.js";
import type { Manifest } from "../apiserver/manifests.js";
import { REPO, SELF } from "../cluster/paths.js";
import { pidAlive, spawnInNetns, waitFor } from "../cluster/sh.js";
import { saveState, type LabNode, type LabState } from "../cluster/state.js";


export const PROXY = join(REPO, "dist", "lab", "weft-proxy.cjs");

/** The node's underlay addresses, one per family (kubelet's --node-ip), the lab's first family first. */
const nodeIps = (n: LabNode): string[] => [n.underlayIp, ...(n.underlayIp6 && n.underlayIp6 !== n.underlayIp ? [n.underlayIp6] : [])];

const nodeObject = (n: LabNode): Node => ({ apiVersion: "v1", kind: "Node", metadata: { name: n.name, labels: { "kubernetes.io/hostname": n.name } }, spec: { ...(n.subnet ? { podCIDR: n.subnet } : {}) }, status: { addresses: [...nodeIps(n).map((address) => ({ type: "InternalIP" as const, address })), { type: "Hostname", address: n.name }] } });

export function startProxy(state: LabState, node: LabNode): void {
  // One proxier per family the node has an address of, as kube-proxy runs on a dual-stack node.
  const clusterCidrs = nodeIps(node).map((ip) => PLANS[ipFamilyOf(ip)].podNetwork);
  node.proxyPid = spawnInNetns(node.netns, process.execPath, [PROXY, "--node-name", node.name, "--proxy-mode", state.options.proxyMode, "--cluster-cidr", clusterCidrs.join(","), "--node-ip", nodeIps(node).join(","), "--lb-speaker-iface", "eth0", "--cluster-state", join(state.dir, "api.json")], join(node.dir, "weft-proxy.log"));
  state.pids.push(node.proxyPid);
  saveState(state);
}

/** Registers a node (its Node object) and starts its proxy. */
export function joinNode(state: LabState, node: LabNode): void {
  updateApi(state.dir, (api) => {
    api.nodes = [...api.nodes.filter((n) => n.metadata.name !== node.name), nodeObject(node)];
    return { write: true, value: undefined };
  });
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

export async function startServices(state: LabState): Promise<void> {
  const [pool, pool6] = labFamilies(state).map((f) => PLANS[f].lbPool);
  if (!readApi(state.dir)) writeApi(state.dir, emptyApi(state.options.serviceCidr, pool ?? PLANS.IPv4.lbPool, pool6));
  const first = state.nodes[0];
  if (!first) throw new Error("the lab has no nodes");
  state.controllerPid = spawnInNetns(first.netns, process.execPath, [SELF, "agent", "controller", "--dir", state.dir], join(state.dir, "controller.log"));
  state.pids.push(state.controllerPid);
  saveState(state);
  for (const node of state.nodes) joinNode(state, node);
  apply(state, clusterDns(state));
  await waitFor("cluster DNS to be ready (see controller.log)", () => readyAddresses(readApi(state.dir)?.endpointSlices ?? [], "kube-dns").length > 0, 20_000);
  // A proxy that exited at its start (a flag it refused, a module it could not load) leaves Services dead: said here, not found later.
  const dead = state.nodes.filter((n) => n.proxyPid && !pidAlive(n.proxyPid));
  if (dead.length) throw new Error(`weft-proxy exited on ${dead.map((n) => n.name).join(", ")}: see ${dead.map((n) => join(n.dir, "weft-proxy.log")).join(", ")}`);
}
