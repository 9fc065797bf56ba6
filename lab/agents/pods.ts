// The lab's kubelet: runs a pod from its spec on a node — a network namespace attached through the
// node's conflist (weft, then portmap for hostPorts), the cluster DNS in its resolv.conf, and the
// container's process (the lab's test server, or the DNS server for a CoreDNS image).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nsOf, type Pod } from "../../proxy/model.js";
import { primaryPlan } from "../cluster/addressing.js";
import { envMap } from "../containers/agnhost-args.js";
import type { ContainerRun } from "../containers/netexec.js";

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
}

/** What the lab's kubelet knows about a pod it runs. */
export interface PodRuntime {
  node: string;
  netns: string;
  containerId: string;
  pid?: number;
  portMappings?: PortMapping[];
  /** The API object's uid: a pod deleted and made again under its name is another pod. */
  uid?: string;
  /** Its addresses, one per family, the first being podIP. */
  podIps?: string[];
  /** Runs in its node's namespace: nothing to detach or remove when it stops. */
  hostNetwork?: boolean;
}
import { cniAdd, cniDel } from "../cluster/cni-runtime.js";
import { CNI_PATH, conflist, SELF } from "../cluster/paths.js";
import { ip, pidAlive, spawnInNetns } from "../cluster/sh.js";
import type { LabNode, LabState } from "../cluster/state.js";

export const CLUSTER_DOMAIN = "cluster.local";

/** `ip netns exec` bind-mounts /etc/netns/NAME/resolv.conf over /etc/resolv.conf: the pod's DNS settings (the lab's cluster DNS address). */
export function writeResolvConf(state: LabState, netns: string, namespace: string): void {
  const dir = join("/etc/netns", netns);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "resolv.conf"), `nameserver ${primaryPlan(state).clusterDns}\nsearch ${namespace}.svc.${CLUSTER_DOMAIN} svc.${CLUSTER_DOMAIN} ${CLUSTER_DOMAIN}\noptions ndots:5\n`);
}

export function removeResolvConf(netns: string): void {
  rmSync(join("/etc/netns", netns), { recursive: true, force: true });
}

export const podNetns = (state: LabState, pod: Pod): string =>
  pod.spec.hostNetwork
    ? (state.nodes.find((n) => n.name === pod.spec.nodeName)?.netns ?? "")
    : `${state.prefix}${nsOf(pod.metadata) === "default" ? "" : `${nsOf(pod.metadata)}.`}${pod.metadata.name}`;

function portMappings(pod: Pod): PortMapping[] {
  return pod.spec.containers.flatMap((c) => (c.ports ?? []).flatMap((p) => (p.hostPort ? [{ hostPort: p.hostPort, containerPort: p.containerPort, protocol: (p.protocol ?? "TCP").toLowerCase() }] : [])));
}

/** A container as the pod's process runs it: command, args and env honoured (env values; valueFrom is not modelled). */
function containerRun(c: Pod["spec"]["containers"][number]): ContainerRun {
  const env = (c as { env?: { name: string; value?: string }[] }).env;
  return { name: c.name, ports: c.ports ?? [], ...(c.command ? { command: c.command } : {}), ...(c.args ? { args: c.args } : {}), ...(env ? { env: envMap(env) } : {}) };
}

/** What a pod's container is told of the cluster: the API server it may watch (DNS, ingress). */
export interface ClusterAccess {
  kubeconfig: string;
}

function containerSpec(state: LabState, node: LabNode, pod: Pod, access: ClusterAccess, podIpList: string[]): object {
  const container = pod.spec.containers[0];
  return { pod: pod.metadata.name, namespace: nsOf(pod.metadata), node: node.name, image: container?.image ?? "", ports: pod.spec.containers.flatMap((c) => c.ports ?? []), containers: pod.spec.containers.map(containerRun), clusterState: "", kubeconfig: access.kubeconfig, workDir: state.dir, ...(podIpList.some((ip) => ip.includes(":")) ? { dualStack: true } : {}) };
}

const podLog = (node: LabNode, pod: Pod): string => join(node.dir, "pods", `${nsOf(pod.metadata)}_${pod.metadata.name}.log`);

/** A host-network pod: its containers in the node's namespace, its addresses the node's, no CNI. */
function runHostNetworkPod(state: LabState, node: LabNode, pod: Pod, access: ClusterAccess): PodRuntime {
  const podIpList = [node.underlayIp, ...(node.underlayIp6 ? [node.underlayIp6] : [])];
  mkdirSync(join(node.dir, "pods"), { recursive: true });
  const pid = spawnInNetns(node.netns, process.execPath, [SELF, "agent", "container", JSON.stringify(containerSpec(state, node, pod, access, podIpList))], podLog(node, pod));
  return { node: node.name, netns: node.netns, containerId: `lab-${nsOf(pod.metadata)}-${pod.metadata.name}`, pid, podIps: podIpList, hostNetwork: true, ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}) };
}

/** Starts `pod` on `node`; on any failure, whatever was made is undone and the error is raised. */
export function runPod(state: LabState, node: LabNode, pod: Pod, access: ClusterAccess): PodRuntime {
  if (pod.spec.hostNetwork) return runHostNetworkPod(state, node, pod, access);
  const netns = podNetns(state, pod);
  const containerId = `lab-${nsOf(pod.metadata)}-${pod.metadata.name}`;
  const mappings = portMappings(pod);
  const att = { containerId, netns: `/var/run/netns/${netns}`, ifname: "eth0", args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${nsOf(pod.metadata)};K8S_POD_NAME=${pod.metadata.name}`, ...(mappings.length ? { portMappings: mappings } : {}) };
  ip("netns", "add", netns);
  let attached = false;
  try {
    ip("-n", netns, "link", "set", "lo", "up");
    const result = cniAdd(conflist(node, state.options.ipMasq), node.netns, CNI_PATH, att, join(state.dir, "cache"));
    attached = true;
    // One address per family, in the order the plugin gives them: the first is podIP.
    const podIpList = ((result.ips as { address: string }[] | undefined) ?? []).map((x) => x.address.split("/")[0] ?? "");
    writeResolvConf(state, netns, nsOf(pod.metadata));
    mkdirSync(join(node.dir, "pods"), { recursive: true });
    const pid = spawnInNetns(netns, process.execPath, [SELF, "agent", "container", JSON.stringify(containerSpec(state, node, pod, access, podIpList))], podLog(node, pod));
    return { node: node.name, netns, containerId, pid, podIps: podIpList, ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}), ...(mappings.length ? { portMappings: mappings } : {}) };
  } catch (err) {
    if (attached) {
      try {
        cniDel(conflist(node, state.options.ipMasq), node.netns, CNI_PATH, att, join(state.dir, "cache"));
      } catch {
        // the error that matters is the one being raised
      }
    }
    ip("netns", "del", netns);
    removeResolvConf(netns);
    throw err;
  }
}

/** Stops a pod's process, detaches it (CNI DEL through the conflist) and removes its namespace. */
export function stopPod(state: LabState, rt: PodRuntime, pod: Pod): void {
  if (rt.pid && pidAlive(rt.pid)) process.kill(rt.pid, "SIGTERM");
  if (rt.hostNetwork) return; // the node's namespace stays
  const node = state.nodes.find((n) => n.name === rt.node);
  if (node) {
    cniDel(conflist(node, state.options.ipMasq), node.netns, CNI_PATH, { containerId: rt.containerId, netns: `/var/run/netns/${rt.netns}`, ifname: "eth0", args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${nsOf(pod.metadata)};K8S_POD_NAME=${pod.metadata.name}`, ...(rt.portMappings ? { portMappings: rt.portMappings } : {}) }, join(state.dir, "cache"));
  }
  try {
    ip("netns", "del", rt.netns);
  } catch {
    // already gone
  }
  removeResolvConf(rt.netns);
}
