// `weft-lab apply` and `delete`: reads the manifests, plans everything under the API lock, then runs
// and stops pods; if a pod cannot be started, the pods this apply started are stopped again and the
// API objects are left as they were.
import { nsOf, type Pod } from "../proxy/model.js";
import { updateApi, type ApiState, type PodRuntime } from "./api-store.js";
import { configField, configKey, planApply, planDelete, podKey, type ConfigObject, type Plan } from "./apply-plan.js";
import type { Manifest } from "./manifests.js";
import { pickNode, runPod, stopPod } from "./pods.js";
import type { LabState } from "./state.js";

function stopPods(state: LabState, api: ApiState, keys: string[]): void {
  for (const k of keys) {
    const pod = api.pods.find((p) => podKey(p.metadata) === k);
    const rt = api.podRuntime[k];
    if (pod && rt) stopPod(state, rt, pod);
    api.pods = api.pods.filter((p) => podKey(p.metadata) !== k);
    delete api.podRuntime[k];
  }
}

function startPods(state: LabState, api: ApiState, pods: Pod[]): void {
  const started: [string, PodRuntime, Pod][] = [];
  try {
    for (const pod of pods) {
      const node = pod.spec.nodeName ? state.nodes.find((n) => n.name === pod.spec.nodeName) : pickNode(state, api, started.map(([, , p]) => p));
      if (!node) throw new Error(`pod "${pod.metadata.name}": spec.nodeName "${pod.spec.nodeName}" is not a node of the lab (${state.nodes.map((n) => n.name).join(", ")})`);
      const rt = runPod(state, node, pod);
      started.push([podKey(pod.metadata), rt, pod]);
    }
  } catch (err) {
    for (const [, rt, pod] of started.reverse()) stopPod(state, rt, pod);
    throw err;
  }
  for (const [k, rt, pod] of started) {
    api.pods.push(pod);
    api.podRuntime[k] = rt;
  }
}

function execute(state: LabState, api: ApiState, plan: Plan): void {
  startPods(state, api, plan.createPods);
  stopPods(state, api, plan.deletePods);
  for (const svc of plan.services) api.services = [...api.services.filter((s) => podKey(s.metadata) !== podKey(svc.metadata)), svc];
  for (const w of plan.workloads) api.workloads = [...api.workloads.filter((x) => !(x.kind === w.kind && podKey(x.metadata) === podKey(w.metadata))), w];
  api.services = api.services.filter((s) => !plan.deleteServices.includes(podKey(s.metadata)));
  api.endpointSlices = api.endpointSlices.filter((e) => !plan.deleteServices.includes(`${nsOf(e.metadata)}/${e.metadata.labels?.["kubernetes.io/service-name"] ?? ""}`));
  api.workloads = api.workloads.filter((w) => !plan.deleteWorkloads.includes(`${w.kind}/${podKey(w.metadata)}`));
  for (const field of ["ingresses", "ingressClasses", "secrets"] as const) {
    const mine = plan.objects.filter((o) => configField(o.kind) === field);
    const kept = ((api[field] ?? []) as ConfigObject[]).filter((o) => !plan.deleteObjects.includes(configKey(o)) && !mine.some((m) => configKey(m) === configKey(o)));
    (api as unknown as Record<string, unknown>)[field] = [...kept, ...mine];
  }
}

export function apply(state: LabState, manifests: Manifest[]): string[] {
  return updateApi(state.dir, (api) => {
    const plan = planApply(api, manifests);
    execute(state, api, plan);
    return { write: true, value: plan.report };
  });
}

export function remove(state: LabState, manifests: Manifest[]): string[] {
  return updateApi(state.dir, (api) => {
    const plan = planDelete(api, manifests);
    execute(state, api, plan);
    return { write: true, value: plan.report };
  });
}
