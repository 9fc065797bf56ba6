// A lab node as the API's Node: its name and hostname label, the pod CIDRs of weftd's lease (what
// flannel's kube subnet manager reads from spec.podCIDRs; here the lease comes first and the Node
// reports it), and its addresses, one InternalIP per family (kubelet's --node-ip) and its hostname.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { LabNode } from "../cluster/state.js";

/** The node's underlay addresses, one per family, the lab's first family first. */
export const nodeIps = (n: LabNode): string[] => [n.underlayIp, ...(n.underlayIp6 && n.underlayIp6 !== n.underlayIp ? [n.underlayIp6] : [])];

/** The network of "gateway/len" (10.244.1.1/24 → 10.244.1.0/24), either family. */
export function networkOf(cidr: string): string {
  const [addr = "", len = "0"] = cidr.split("/");
  const v6 = addr.includes(":");
  const bits = v6 ? 128 : 32;
  let n = v6 ? ipv6ToBigInt(addr) : addr.split(".").reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n);
  const host = (1n << BigInt(bits - Number(len))) - 1n;
  n &= ~host & ((1n << BigInt(bits)) - 1n);
  return `${v6 ? bigIntToIpv6(n) : [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join(".")}/${len}`;
}

function ipv6ToBigInt(a: string): bigint {
  const [head = "", tail = ""] = a.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = a.includes("::") ? [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t] : h;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || "0", 16)), 0n);
}

function bigIntToIpv6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((n >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}

/** The node's pod CIDRs from weftd's subnet.env (both families where it has both). */
export function podCidrs(node: LabNode): string[] {
  try {
    const env = readFileSync(join(node.dir, "subnet.env"), "utf8");
    return ["FLANNEL_SUBNET", "FLANNEL_IPV6_SUBNET"].flatMap((k) => {
      const v = new RegExp(`^${k}=(.+)$`, "m").exec(env)?.[1]?.trim();
      return v ? [networkOf(v)] : [];
    });
  } catch {
    return [];
  }
}

export function nodeObject(n: LabNode): { apiVersion: string; kind: string; metadata: { name: string; labels: Record<string, string> }; spec: { podCIDR?: string; podCIDRs?: string[] } } {
  const cidrs = podCidrs(n);
  return { apiVersion: "v1", kind: "Node", metadata: { name: n.name, labels: { "kubernetes.io/hostname": n.name, "kubernetes.io/os": "linux" } }, spec: cidrs.length ? { podCIDR: cidrs[0], podCIDRs: cidrs } : {} };
}

export function nodeStatus(n: LabNode): object {
  const now = new Date().toISOString();
  return {
    addresses: [...nodeIps(n).map((address) => ({ type: "InternalIP", address })), { type: "Hostname", address: n.name }],
    conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status", lastHeartbeatTime: now, lastTransitionTime: now }],
    nodeInfo: { kubeletVersion: "v1.32.0-weft-lab", containerRuntimeVersion: "weft-lab://1", operatingSystem: "linux", architecture: "amd64", kernelVersion: "", osImage: "weft lab", kubeProxyVersion: "", machineID: "", systemUUID: "", bootID: "" },
  };
}
