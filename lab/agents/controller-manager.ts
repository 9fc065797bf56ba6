// The lab's controller manager and scheduler, one process, an API client: it watches what the
// controllers read and, after each burst of changes, brings the API to what they want —
//   scheduler: a pod without a node is bound to the node with the fewest pods;
//   deployments/statefulsets: their pods made and removed from the template (workloads.ts), pods whose
//     workload is gone removed (the garbage collector's job), status written;
//   endpoints: each Service's EndpointSlices and Endpoints from the ready pods it selects;
//   load balancers: a LoadBalancer Service gets an address of each of its families from the lab's
//     pools (MetalLB's job), written to its status.
// One pass at a time; a pass's writes come back through the watches before the next pass trusts them.
import { KubeClient } from "../../kube/client.js";
import { loadKubeconfig } from "../../kube/config.js";
import { isNotFound } from "../../kube/errors.js";
import { Informer } from "../../kube/informer.js";
import { DEPLOYMENTS, ENDPOINT_SLICES, ENDPOINTS, NODES, SERVICES, STATEFUL_SETS } from "../../kube/kinds.js";
import { PODS, resourcePath, type KubeObject, type ResourceType } from "../../kube/resources.js";
import { nsOf, type EndpointSlice, type Node, type Pod, type Service } from "../../proxy/model.js";
import { endpointSlicesFor } from "../apiserver/endpoints.js";
import { endpointsOf } from "../apiserver/table-cells.js";
import { allocateLoadBalancers } from "./load-balancers.js";
import { OWNER, ownerKey, reconcileWorkload, stable, workloadStatus, type ApiWorkload } from "./workloads.js";

type Log = (msg: string, fields?: object) => void;
const MANAGED_BY = "endpointslice.kubernetes.io/managed-by";
const CONTROLLER = "endpointslice-controller.k8s.io";
const COALESCE_MS = 20;
const key = (o: { metadata: { name: string; namespace?: string } }): string => `${nsOf(o.metadata)}/${o.metadata.name}`;

export interface ControllerOptions {
  kubeconfig: string;
  /** The LoadBalancer pools: first and last address, one pool per family. */
  lbPools: [string, string][];
}

export class ControllerManager {
  private readonly client: KubeClient;
  private readonly informers: Record<string, Informer<KubeObject>> = {};
  private timer: NodeJS.Timeout | undefined;
  private passing = false;
  private again = false;
  /** Pods this process created that its watch has not shown yet: counted as there. */
  private readonly created = new Map<string, Pod>();

  constructor(
    private readonly opts: ControllerOptions,
    private readonly log: Log,
  ) {
    this.client = new KubeClient(loadKubeconfig(opts.kubeconfig), { userAgent: "weft-lab-controller-manager" });
    const watch: Record<string, ResourceType> = { pods: PODS, services: SERVICES, nodes: NODES, deployments: DEPLOYMENTS, statefulsets: STATEFUL_SETS, endpointslices: ENDPOINT_SLICES, endpoints: ENDPOINTS };
    const schedule = (): void => this.schedule();
    for (const [name, type] of Object.entries(watch)) this.informers[name] = new Informer<KubeObject>(this.client, type, { handlers: { onAdd: schedule, onUpdate: schedule, onDelete: schedule } });
  }

  async start(): Promise<void> {
    const all = Object.values(this.informers);
    for (const inf of all) inf.start();
    await Promise.all(all.map((inf) => inf.synced()));
    this.log("controllers synced", Object.fromEntries(Object.entries(this.informers).map(([k, inf]) => [k, inf.store.size])));
    this.schedule();
  }

  private list<T>(name: string): T[] {
    return (this.informers[name]?.store.list() ?? []) as unknown as T[];
  }

  private schedule(): void {
    if (this.passing) this.again = true;
    else this.timer ??= setTimeout(() => void this.pass(), COALESCE_MS);
  }

  private async pass(): Promise<void> {
    this.timer = undefined;
    this.passing = true;
    try {
      const pods = this.list<Pod>("pods");
      for (const k of [...this.created.keys()]) if (pods.some((p) => key(p) === k)) this.created.delete(k);
      const all = [...pods, ...this.created.values()];
      await this.workloads(all);
      await this.scheduler(all);
      await this.endpoints(pods);
      await this.loadBalancers();
    } catch (err) {
      this.log("controller pass failed; retried at the next change", { error: (err as Error).message });
      setTimeout(() => this.schedule(), 1000);
    } finally {
      this.passing = false;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    }
  }

  private async workloads(pods: Pod[]): Promise<void> {
    const workloads = [...this.list<ApiWorkload>("deployments").map((w) => ({ ...w, kind: "Deployment" as const })), ...this.list<ApiWorkload>("statefulsets").map((w) => ({ ...w, kind: "StatefulSet" as const }))];
    const owners = new Set(workloads.map(ownerKey));
    for (const w of workloads) {
      if (w.metadata.deletionTimestamp) continue;
      const owned = pods.filter((p) => p.metadata.annotations?.[OWNER] === ownerKey(w));
      const { create, delete: gone } = reconcileWorkload(w, owned);
      for (const pod of create) {
        const made = await this.client.create(PODS, pod as unknown as KubeObject);
        this.created.set(key(pod), made as unknown as Pod);
        this.log("pod created", { pod: key(pod), owner: ownerKey(w) });
      }
      for (const name of gone) await this.deletePod(w.metadata.namespace ?? "default", name, ownerKey(w));
      const status = workloadStatus(w, owned);
      if (stable((w as unknown as { status?: object }).status ?? {}) !== stable({ ...((w as unknown as { status?: object }).status ?? {}), ...status })) {
        const type = w.kind === "Deployment" ? DEPLOYMENTS : STATEFUL_SETS;
        await this.client.request({ method: "PATCH", path: `${resourcePath(type, w.metadata.namespace ?? "default", w.metadata.name)}/status`, body: { status }, contentType: "application/merge-patch+json" }).catch((err: Error) => !isNotFound(err) && this.log("could not write a workload's status", { owner: ownerKey(w), error: err.message }));
      }
    }
    // The garbage collector: pods of a workload that is gone.
    for (const p of pods) {
      const owner = p.metadata.annotations?.[OWNER];
      if (owner && !owners.has(owner) && !p.metadata.deletionTimestamp) await this.deletePod(nsOf(p.metadata), p.metadata.name, owner);
    }
  }

  private async deletePod(namespace: string, name: string, owner: string): Promise<void> {
    try {
      await this.client.delete(PODS, name, namespace);
      this.log("pod deleted", { pod: `${namespace}/${name}`, owner });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async scheduler(pods: Pod[]): Promise<void> {
    const nodes = this.list<Node>("nodes").map((n) => n.metadata.name).sort();
    if (!nodes.length) return;
    const count = new Map(nodes.map((n) => [n, pods.filter((p) => p.spec.nodeName === n && !p.metadata.deletionTimestamp).length]));
    for (const p of pods.filter((x) => !x.spec.nodeName && !x.metadata.deletionTimestamp && !this.created.has(key(x)))) {
      const node = [...nodes].sort((a, b) => (count.get(a) ?? 0) - (count.get(b) ?? 0))[0] as string;
      try {
        await this.client.request({ method: "POST", path: `${resourcePath(PODS, nsOf(p.metadata), p.metadata.name)}/binding`, body: { apiVersion: "v1", kind: "Binding", metadata: { name: p.metadata.name, namespace: nsOf(p.metadata) }, target: { apiVersion: "v1", kind: "Node", name: node } } });
        count.set(node, (count.get(node) ?? 0) + 1);
        this.log("pod scheduled", { pod: key(p), node });
      } catch (err) {
        if (!isNotFound(err) && (err as { code?: number }).code !== 409) throw err;
      }
    }
  }

  private async endpoints(pods: Pod[]): Promise<void> {
    const services = this.list<Service>("services");
    const want = endpointSlicesFor(services, pods).map((s) => ({ ...s, metadata: { ...s.metadata, labels: { ...s.metadata.labels, [MANAGED_BY]: CONTROLLER } } }));
    const have = this.list<EndpointSlice & { metadata: { resourceVersion?: string } }>("endpointslices").filter((s) => s.metadata.labels?.[MANAGED_BY] === CONTROLLER);
    await this.converge(ENDPOINT_SLICES, want, have, (s) => ({ endpoints: s.endpoints, ports: s.ports, addressType: s.addressType, labels: s.metadata.labels }));
    const eps = services.filter((s) => (s.spec.type ?? "ClusterIP") !== "ExternalName" && s.spec.selector).map((s) => {
      const e = endpointsOf(s, want as EndpointSlice[]) as { metadata: { name: string; namespace: string; creationTimestamp?: string }; subsets: unknown[] };
      delete e.metadata.creationTimestamp;
      return e;
    });
    await this.converge(ENDPOINTS, eps, this.list("endpoints"), (e) => (e as { subsets?: unknown[] }).subsets ?? []);
  }

  /** Creates, updates and deletes so that the objects `have` become `want` (compared by `content`). */
  private async converge<T extends { metadata: { name: string; namespace?: string; resourceVersion?: string } }>(type: ResourceType, want: T[], have: T[], content: (o: T) => unknown): Promise<void> {
    for (const w of want) {
      const h = have.find((x) => key(x) === key(w));
      if (!h) await this.client.create(type, w as unknown as KubeObject).catch((err: { code?: number }) => { if (err.code !== 409) throw err; });
      else if (stable(content(h)) !== stable(content(w))) await this.client.update(type, { ...w, metadata: { ...w.metadata, resourceVersion: h.metadata.resourceVersion } } as unknown as KubeObject).catch((err: { code?: number }) => { if (err.code !== 409) throw err; });
    }
    for (const h of have) if (!want.some((w) => key(w) === key(h))) await this.client.delete(type, h.metadata.name, h.metadata.namespace).catch((err: Error) => { if (!isNotFound(err)) throw err; });
  }

  private async loadBalancers(): Promise<void> {
    const services = this.list<Service>("services");
    for (const { service, ingress } of allocateLoadBalancers(services, this.opts.lbPools)) {
      await this.client.request({ method: "PATCH", path: `${resourcePath(SERVICES, nsOf(service.metadata), service.metadata.name)}/status`, body: { status: { loadBalancer: { ingress: ingress.length ? ingress : null } } }, contentType: "application/merge-patch+json" });
      this.log("load balancer address", { service: key(service), ingress: ingress.map((i) => i.ip) });
    }
  }
}

export async function runControllerManager(opts: ControllerOptions, log: Log): Promise<void> {
  await new ControllerManager(opts, log).start();
}
