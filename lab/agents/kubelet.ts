// The lab's kubelet, one per node, in the node's namespace: an API client, as the real one is. It
// registers its Node, watches the pods bound to it (spec.nodeName), runs each through the CNI plugin as
// a runtime does (pods.ts) and writes its status (addresses, phase, conditions); it probes readiness and
// writes the Ready condition when it changes. A pod being deleted keeps serving for its preStop sleep,
// is then stopped (CNI DEL) and removed from the API with a zero grace period, as the kubelet confirms
// a graceful deletion. The pods it runs are kept in a file beside the node, so a restarted kubelet
// adopts them instead of starting them twice.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KubeClient } from "../../kube/client.js";
import { loadKubeconfig } from "../../kube/config.js";
import { isNotFound } from "../../kube/errors.js";
import { Informer } from "../../kube/informer.js";
import { NODES } from "../../kube/kinds.js";
import { PODS, resourcePath, type KubeObject } from "../../kube/resources.js";
import { nsOf, type Pod } from "../../proxy/model.js";
import { loadState, type LabNode, type LabState } from "../cluster/state.js";
import { isMirror } from "./mirror-pods.js";
import { nodeObject, nodeStatus } from "./node-object.js";
import { runPod, stopPod, type PodRuntime } from "./pods.js";
import { PROBE_MS, podAnswers } from "./readiness.js";

type Log = (msg: string, fields?: object) => void;
const key = (p: Pod): string => `${nsOf(p.metadata)}/${p.metadata.name}`;
const preStopSeconds = (pod: Pod): number => Math.max(0, ...pod.spec.containers.map((c) => c.lifecycle?.preStop?.sleep?.seconds ?? 0));

class PodRecords {
  constructor(private readonly file: string) {}
  read(): Record<string, PodRuntime> {
    return existsSync(this.file) ? (JSON.parse(readFileSync(this.file, "utf8")) as Record<string, PodRuntime>) : {};
  }
  write(records: Record<string, PodRuntime>): void {
    writeFileSync(`${this.file}.tmp`, JSON.stringify(records));
    renameSync(`${this.file}.tmp`, this.file);
  }
}

export class Kubelet {
  private readonly client: KubeClient;
  private readonly pods: Informer<KubeObject>;
  private readonly records: PodRecords;
  private running: Record<string, PodRuntime>;
  private readonly ready = new Map<string, boolean>();
  private readonly terminating = new Set<string>();
  private readonly queue = new Set<string>();
  private working = false;

  constructor(
    private readonly state: LabState,
    private readonly node: LabNode,
    private readonly kubeconfig: string,
    private readonly log: Log,
  ) {
    this.client = new KubeClient(loadKubeconfig(kubeconfig), { userAgent: `kubelet/${node.name}` });
    this.records = new PodRecords(join(node.dir, "kubelet-pods.json"));
    this.running = this.records.read();
    const enqueue = (p: KubeObject): void => this.enqueue(key(p as unknown as Pod));
    this.pods = new Informer(this.client, PODS, { fieldSelector: `spec.nodeName=${node.name}`, handlers: { onAdd: enqueue, onUpdate: (_o, p) => enqueue(p), onDelete: enqueue } });
  }

  async start(): Promise<void> {
    await this.register();
    this.pods.start();
    await this.pods.synced();
    // Pods it ran before a restart that the API no longer has: stopped.
    for (const k of Object.keys(this.running)) this.enqueue(k);
    this.log("kubelet ready", { node: this.node.name, pods: this.pods.store.size });
    void this.probeLoop();
  }

  /** The Node object and its status: addresses, the pod CIDR from weftd's lease, Ready. */
  private async register(): Promise<void> {
    const obj = nodeObject(this.node);
    try {
      await this.client.create(NODES, obj);
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
    await this.client.request({ method: "PATCH", path: `${resourcePath(NODES, undefined, this.node.name)}/status`, body: { status: nodeStatus(this.node) }, contentType: "application/merge-patch+json" });
  }

  private enqueue(k: string): void {
    this.queue.add(k);
    if (!this.working) void this.work();
  }

  /** One pod at a time: CNI calls on a node are serialised anyway, and the order is then clear in the log. */
  private async work(): Promise<void> {
    this.working = true;
    while (this.queue.size) {
      const [k] = this.queue;
      this.queue.delete(k as string);
      try {
        await this.sync(k as string);
      } catch (err) {
        this.log("pod sync failed; retried at the next change", { pod: k, error: (err as Error).message });
      }
    }
    this.working = false;
  }

  private async sync(k: string): Promise<void> {
    const pod = this.pods.store.get(k) as unknown as Pod | undefined;
    const rt = this.running[k];
    if (rt && (!pod || (pod.metadata.uid && rt.uid && pod.metadata.uid !== rt.uid))) {
      // Gone from the API (forced), or another pod of the same name: this one stops now.
      this.stop(k, rt, pod);
      if (!pod) return;
    }
    if (!pod || isMirror(pod)) return; // a mirror pod's pod runs outside the API (the topology's own)
    if (pod.metadata.deletionTimestamp) return this.terminate(k, pod);
    if (this.running[k] || pod.status?.phase === "Failed") return;
    let started: PodRuntime;
    try {
      started = runPod(this.state, this.node, pod, { kubeconfig: this.kubeconfig });
    } catch (err) {
      this.log("pod could not be started", { pod: k, error: (err as Error).message });
      await this.patchStatus(pod, { phase: "Failed", reason: "FailedCreatePodSandBox", message: (err as Error).message });
      return;
    }
    this.running[k] = started;
    this.records.write(this.running);
    const ips = started.podIps ?? [];
    const now = new Date().toISOString();
    this.log("pod started", { pod: k, ips, netns: started.netns });
    await this.patchStatus(pod, {
      phase: "Running",
      podIP: ips[0] ?? "",
      podIPs: ips.map((ip) => ({ ip })),
      hostIP: this.node.underlayIp,
      hostIPs: [this.node.underlayIp, ...(this.node.underlayIp6 && this.node.underlayIp6 !== this.node.underlayIp ? [this.node.underlayIp6] : [])].map((ip) => ({ ip })),
      startTime: now,
      conditions: conditions(false, now),
      containerStatuses: pod.spec.containers.map((c) => ({ name: c.name, ready: false, restartCount: 0, started: true, image: c.image ?? "", imageID: "", state: { running: { startedAt: now } } })),
    });
  }

  /** The preStop sleep (the pod keeps serving), the stop, then the API's object removed. */
  private async terminate(k: string, pod: Pod): Promise<void> {
    if (this.terminating.has(k)) return;
    this.terminating.add(k);
    const rt = this.running[k];
    const seconds = rt ? preStopSeconds(pod) : 0;
    this.log("pod terminating", { pod: k, preStopSeconds: seconds });
    // Off the queue: other pods start and stop meanwhile.
    void (async () => {
      await new Promise((r) => setTimeout(r, seconds * 1000));
      if (rt) this.stop(k, rt, pod);
      try {
        await this.client.request({ method: "DELETE", path: resourcePath(PODS, nsOf(pod.metadata), pod.metadata.name), body: { kind: "DeleteOptions", apiVersion: "v1", gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } } });
        this.terminating.delete(k);
      } catch (err) {
        this.terminating.delete(k);
        if (isNotFound(err) || (err as { code?: number }).code === 409) return;
        // Tried again shortly: a pod left terminating in the API blocks its name and its Service's endpoints.
        this.log("could not confirm a pod's deletion; trying again in 1 s", { pod: k, error: (err as Error).message });
        setTimeout(() => this.enqueue(k), 1000);
      }
    })();
  }

  private stop(k: string, rt: PodRuntime, pod: Pod | undefined): void {
    try {
      stopPod(this.state, rt, pod ?? ({ metadata: { name: k.split("/")[1] ?? k, namespace: k.split("/")[0] }, spec: { containers: [] } } as Pod));
      this.log("pod stopped", { pod: k });
    } catch (err) {
      this.log("pod could not be stopped cleanly", { pod: k, error: (err as Error).message });
    }
    delete this.running[k];
    this.ready.delete(k);
    this.records.write(this.running);
  }

  private async patchStatus(pod: Pod, status: object): Promise<void> {
    await this.client.request({ method: "PATCH", path: `${resourcePath(PODS, nsOf(pod.metadata), pod.metadata.name)}/status`, body: { status }, contentType: "application/merge-patch+json" });
  }

  /** Every running pod probed each period; the Ready condition written only when it changes. */
  private async probeLoop(): Promise<void> {
    for (;;) {
      const started = Date.now();
      const pods = (this.pods.store.list() as unknown as Pod[]).filter((p) => !isMirror(p) && this.running[key(p)] && !p.metadata.deletionTimestamp && p.status?.podIP);
      await Promise.all(
        pods.map(async (p) => {
          const k = key(p);
          const ok = await podAnswers(p);
          const was = p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
          if (ok === was && this.ready.get(k) === ok) return;
          this.ready.set(k, ok);
          if (ok === was) return;
          const now = new Date().toISOString();
          try {
            await this.patchStatus(p, { conditions: conditions(ok, now), containerStatuses: p.spec.containers.map((c) => ({ name: c.name, ready: ok, restartCount: 0, started: true, image: c.image ?? "", imageID: "", state: { running: { startedAt: p.status?.startTime ?? now } } })) });
            this.log(ok ? "pod ready" : "pod not ready", { pod: k, ip: p.status?.podIP });
          } catch (err) {
            this.ready.delete(k);
            // A pod deleted meanwhile has no readiness to write.
            if (!isNotFound(err)) this.log("could not write a pod's readiness", { pod: k, error: (err as Error).message });
          }
        }),
      );
      await new Promise((r) => setTimeout(r, Math.max(0, PROBE_MS - (Date.now() - started))));
    }
  }
}

const conditions = (ready: boolean, at: string) => [
  { type: "PodScheduled", status: "True" as const, lastTransitionTime: at },
  { type: "Initialized", status: "True" as const, lastTransitionTime: at },
  { type: "ContainersReady", status: ready ? ("True" as const) : ("False" as const), lastTransitionTime: at },
  { type: "Ready", status: ready ? ("True" as const) : ("False" as const), lastTransitionTime: at },
];

export async function runKubelet(dir: string, nodeName: string, kubeconfig: string, log: Log): Promise<void> {
  const state = loadState(dir);
  const node = state?.nodes.find((n) => n.name === nodeName);
  if (!state || !node) throw new Error(`kubelet: no node "${nodeName}" in the lab's state in ${dir}`);
  await new Kubelet(state, node, kubeconfig, log).start();
}
