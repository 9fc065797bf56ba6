// `weft-lab apply` and `delete`: reads the manifests, plans everything under the API lock, then runs
// and stops pods; if a pod cannot be started, the pods this apply started are stopped again and the
// API objects are left as they were. A deleted pod whose containers have a preStop sleep leaves the
// API at once — the EndpointSlices, the proxies and the Ingress drop it — and keeps serving for that
// long before it is stopped, as in a cluster, where that sleep is how a pod behind ingress-nginx is
// taken out of rotation without failing a request.
import { nsOf, type Pod } from "../../proxy/model.js";
import { sleepSync, updateApi, type ApiState, type PodRuntime } from "../apiserver/api-store.js";
import { configField, configKey, planApply, planDelete, podKey, type ConfigObject, type Plan } from "./apply-plan.js";
import type { Manifest } from "../apiserver/manifests.js";
import { pickNode, runPod, stopPod } from "./pods.js";
import type { LabState } from "../cluster/state.js";

/** A pod that left the API and is stopped after its preStop sleep. */
interface Draining {
  rt: PodRuntime;
  pod: Pod;
  seconds: number;
}

/** The pod's preStop sleep: the longest of its containers' (they run side by side). */
const preStopSeconds = (pod: Pod): number => Math.max(0, ...pod.spec.containers.map((c) => c.lifecycle?.preStop?.sleep?.seconds ?? 0));

/** Removes the pods from the API; stops those without a preStop sleep now and returns the others. */
function stopPods(state: LabState, api: ApiState, keys: string[]): Draining[] {
  const draining: Draining[] = [];
  for (const k of keys) {
    const pod = api.pods.find((p) => podKey(p.metadata) === k);
    const rt = api.podRuntime[k];
    if (pod && rt) {
      const seconds = preStopSeconds(pod);
      if (seconds > 0) draining.push({ rt, pod, seconds });
      else stopPod(state, rt, pod);
    }
    api.pods = api.pods.filter((p) => podKey(p.metadata) !== k);
    delete api.podRuntime[k];
  }
  return draining;
}

/**
 * Outside the API lock (the controllers must see the pods gone meanwhile): each sleep, then the stop.
 * One pod that cannot be stopped does not keep the others running; its error is raised after.
 */
function drain(state: LabState, draining: Draining[]): void {
  const start = Date.now();
  const errors: Error[] = [];
  for (const d of [...draining].sort((a, b) => a.seconds - b.seconds)) {
    sleepSync(start + d.seconds * 1000 - Date.now());
    try {
      stopPod(state, d.rt, d.pod);
    } catch (err) {
      errors.push(new Error(`pod "${d.pod.metadata.name}" left the API but could not be stopped: ${(err as Error).message}`));
    }
  }
  if (errors.length) throw errors[0];
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

function execute(state: LabState, api: ApiState, plan: Plan): Draining[] {
  startPods(state, api, plan.createPods);
  const draining = stopPods(state, api, plan.deletePods);
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
  return draining;
}

function run(state: LabState, manifests: Manifest[], plan: (api: ApiState, manifests: Manifest[]) => Plan): string[] {
  const { report, draining } = updateApi(state.dir, (api) => {
    const p = plan(api, manifests);
    return { write: true, value: { report: p.report, draining: execute(state, api, p) } };
  });
  drain(state, draining);
  return report;
}

export const apply = (state: LabState, manifests: Manifest[]): string[] => run(state, manifests, planApply);

export const remove = (state: LabState, manifests: Manifest[]): string[] => run(state, manifests, planDelete);
