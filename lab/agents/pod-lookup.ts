// `weft-lab exec`'s pod names, as kubectl exec takes them: a pod's name, `pod/NAME`, or a workload's
// (`deploy/NAME`, `sts/NAME`: its first running pod), looked up in the API; the namespace is the one
// the lab's kubelet made for that pod.
import { existsSync } from "node:fs";
import { PODS, type KubeObject } from "../../kube/resources.js";
import type { Pod } from "../../proxy/model.js";
import type { LabState } from "../cluster/state.js";
import { labClient } from "./apply.js";
import { podNetns } from "./pods.js";
import { OWNER } from "./workloads.js";

const WORKLOADS: Record<string, string> = { deploy: "Deployment", deployment: "Deployment", deployments: "Deployment", sts: "StatefulSet", statefulset: "StatefulSet", statefulsets: "StatefulSet" };

export async function apiPodNetns(state: LabState, name: string, namespace: string): Promise<string | undefined> {
  if (!state.apiserver) return undefined;
  const client = labClient(state);
  try {
    const pods = (await client.list<KubeObject>(PODS, { namespace })).items as unknown as Pod[];
    const [kind, rest] = name.includes("/") ? (name.split("/", 2) as [string, string]) : ["pod", name];
    const owner = WORKLOADS[kind.toLowerCase()];
    const pod = owner
      ? pods.filter((p) => p.metadata.annotations?.[OWNER] === `${owner}/${namespace}/${rest}` && p.status?.podIP && !p.metadata.deletionTimestamp).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))[0]
      : pods.find((p) => p.metadata.name === rest);
    if (!pod) return undefined;
    const netns = podNetns(state, pod);
    return existsSync(`/var/run/netns/${netns}`) ? netns : undefined;
  } finally {
    client.close();
  }
}

/** One object from the lab's API, or undefined when it has none of that name. */
export async function getObject<T>(state: LabState, type: import("../../kube/resources.js").ResourceType, name: string, namespace?: string): Promise<T | undefined> {
  const client = labClient(state);
  try {
    return (await client.get(type, name, namespace)) as unknown as T;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  } finally {
    client.close();
  }
}
