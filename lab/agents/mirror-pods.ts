// The topology's own pods (node1-pod1 …) are attached by the lab directly, as a kubelet runs static
// pods from files; like the kubelet, the lab makes a mirror pod in the API for each, so that every
// client — kubectl, the controllers, weftd's policy — sees them, and no kubelet runs them twice (a
// kubelet leaves pods with the mirror annotation alone).
import { KubeClient } from "../../kube/client.js";
import { loadKubeconfig } from "../../kube/config.js";
import { PODS, resourcePath, type KubeObject } from "../../kube/resources.js";
import type { ContainerPort } from "../../proxy/model.js";
import type { LabNode, LabPod, LabState } from "../cluster/state.js";

export const MIRROR = "kubernetes.io/config.mirror";

/** Whether a pod is a mirror of one the lab runs outside the API. */
export const isMirror = (p: { metadata: { annotations?: Record<string, string> } }): boolean => Boolean(p.metadata.annotations?.[MIRROR]);

export async function registerMirrorPod(state: LabState, node: LabNode, pod: LabPod, ports: ContainerPort[]): Promise<void> {
  if (!state.apiserver) return;
  const client = new KubeClient(loadKubeconfig(state.apiserver.kubeconfig), { userAgent: "weft-lab" });
  try {
    const obj = { apiVersion: "v1", kind: "Pod", metadata: { name: pod.name, namespace: "default", labels: { "lab.weft.dev/topology": "true" }, annotations: { [MIRROR]: pod.containerId } }, spec: { nodeName: node.name, containers: [{ name: "servers", image: "weft-lab/servers", ports }] } };
    await client.create(PODS, obj as unknown as KubeObject).catch((err: { code?: number }) => (err.code === 409 ? undefined : Promise.reject(err)));
    const now = new Date().toISOString();
    const ips = [pod.ip, ...(pod.ip6 ? [pod.ip6] : [])];
    const status = { phase: "Running", podIP: pod.ip, podIPs: ips.map((ip) => ({ ip })), hostIP: node.underlayIp, startTime: now, conditions: ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map((type) => ({ type, status: "True", lastTransitionTime: now })), containerStatuses: [{ name: "servers", ready: true, restartCount: 0, started: true, image: "weft-lab/servers", imageID: "", state: { running: { startedAt: now } } }] };
    await client.request({ method: "PATCH", path: `${resourcePath(PODS, "default", pod.name)}/status`, body: { status }, contentType: "application/merge-patch+json" });
  } finally {
    client.close();
  }
}
