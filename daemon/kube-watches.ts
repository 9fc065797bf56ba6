// weftd's view of the Kubernetes API: informers on pods (all namespaces), namespaces, nodes,
// NetworkPolicies and ClusterNetworkPolicies, whose stores network policy reads. Readiness waits for their first
// sync and then names a watch failing for longer than a grace period; a resource the server does not
// serve (the ClusterNetworkPolicy CRD not installed) is said once and does not hold readiness back.
import type { Registry } from "prom-client";
import { KubeClient } from "../kube/client.js";
import { inClusterConfig, loadKubeconfig, type KubeConnection } from "../kube/config.js";
import { Informer, type InformerHandlers } from "../kube/informer.js";
import { NODES } from "../kube/kinds.js";
import { CLUSTER_NETWORK_POLICIES, NAMESPACES, NETWORK_POLICIES, PODS, type KubeObject, type ObjectMeta, type ResourceType } from "../kube/resources.js";
import type { ObjectStoreView } from "../kube/store.js";
import { registerKubeWatchMetrics } from "./kube-metrics.js";
import type { Logger } from "./log.js";

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

export interface Pod extends KubeObject {
  metadata: ObjectMeta & { name: string; namespace: string };
  spec?: { nodeName?: string; hostNetwork?: boolean; containers?: { name?: string; ports?: { containerPort: number; name?: string; protocol?: string }[] }[] };
  status?: { phase?: string; podIP?: string; podIPs?: { ip: string }[] };
}

export interface Namespace extends KubeObject {
  metadata: ObjectMeta & { name: string };
}

export interface Node extends KubeObject {
  metadata: ObjectMeta & { name: string };
  status?: { addresses?: { type: string; address: string }[] };
}

/** networking.k8s.io/v1: only what this side reads is typed; the policy model types the rest. */
export interface NetworkPolicy extends KubeObject {
  metadata: ObjectMeta & { name: string; namespace: string };
  spec?: { podSelector?: LabelSelector; policyTypes?: ("Ingress" | "Egress")[]; ingress?: unknown[]; egress?: unknown[] };
}

/** policy.networking.k8s.io/v1alpha2 (cluster-scoped; tier Admin or Baseline). */
export interface ClusterNetworkPolicy extends KubeObject {
  metadata: ObjectMeta & { name: string };
  spec?: { tier?: "Admin" | "Baseline"; priority?: number; subject?: unknown; ingress?: unknown[]; egress?: unknown[] };
}

/** What weftd watches, as the RBAC of deploy/weft.yml must grant it (get, list, watch each). */
export const WATCHED_RESOURCES: readonly ResourceType[] = [PODS, NAMESPACES, NODES, NETWORK_POLICIES, CLUSTER_NETWORK_POLICIES];

export interface KubeWatchHandlers {
  pods?: InformerHandlers<Pod>;
  namespaces?: InformerHandlers<Namespace>;
  nodes?: InformerHandlers<Node>;
  networkPolicies?: InformerHandlers<NetworkPolicy>;
  clusterNetworkPolicies?: InformerHandlers<ClusterNetworkPolicy>;
}

export interface KubeWatchOptions {
  /** A watch failing for longer than this makes weftd unready. */
  graceMs: number;
  handlers?: KubeWatchHandlers;
  /** Tests shorten the rare retry of a resource not served. */
  notServedRetryMs?: number;
}

/** The connection a choice names: the kubeconfig or service account is read now (a bad one fails weftd's start). */
export function connectionFor(choice: { kind: "kubeconfig"; file: string } | { kind: "in-cluster" }): KubeConnection {
  return choice.kind === "kubeconfig" ? loadKubeconfig(choice.file) : inClusterConfig();
}

/** managedFields are a large part of every object and nothing in weftd reads them. */
function withoutManagedFields<T extends KubeObject>(o: T): T {
  if (o.metadata?.managedFields === undefined) return o;
  const { managedFields: _dropped, ...metadata } = o.metadata;
  return { ...o, metadata };
}

export class KubeWatches {
  private readonly client: KubeClient;
  private readonly podInformer: Informer<Pod>;
  private readonly namespaceInformer: Informer<Namespace>;
  private readonly nodeInformer: Informer<Node>;
  private readonly policyInformer: Informer<NetworkPolicy>;
  private readonly clusterPolicyInformer: Informer<ClusterNetworkPolicy>;
  private readonly all: Informer<KubeObject>[];
  /** Called after any object of any watch changed (network policy recompiles, coalesced). */
  private readonly changeListeners: (() => void)[] = [];

  constructor(
    readonly conn: KubeConnection,
    registry: Registry,
    private readonly log: Logger,
    private readonly opts: KubeWatchOptions,
  ) {
    this.client = new KubeClient(conn, { userAgent: "weftd" });
    const h = opts.handlers ?? {};
    this.podInformer = this.informer<Pod>(PODS, h.pods);
    this.namespaceInformer = this.informer<Namespace>(NAMESPACES, h.namespaces);
    this.nodeInformer = this.informer<Node>(NODES, h.nodes);
    this.policyInformer = this.informer<NetworkPolicy>(NETWORK_POLICIES, h.networkPolicies);
    this.clusterPolicyInformer = this.informer<ClusterNetworkPolicy>(CLUSTER_NETWORK_POLICIES, h.clusterNetworkPolicies);
    this.all = [this.podInformer, this.namespaceInformer, this.nodeInformer, this.policyInformer, this.clusterPolicyInformer] as unknown as Informer<KubeObject>[];
    registerKubeWatchMetrics(registry, () => this.all);
  }

  get pods(): ObjectStoreView<Pod> {
    return this.podInformer.store;
  }
  get namespaces(): ObjectStoreView<Namespace> {
    return this.namespaceInformer.store;
  }
  get nodes(): ObjectStoreView<Node> {
    return this.nodeInformer.store;
  }
  get networkPolicies(): ObjectStoreView<NetworkPolicy> {
    return this.policyInformer.store;
  }
  /** Empty while the API server does not serve ClusterNetworkPolicies (see `clusterNetworkPoliciesServed`). */
  get clusterNetworkPolicies(): ObjectStoreView<ClusterNetworkPolicy> {
    return this.clusterPolicyInformer.store;
  }
  get clusterNetworkPoliciesServed(): boolean {
    return !this.clusterPolicyInformer.notServed;
  }

  onChange(fn: () => void): void {
    this.changeListeners.push(fn);
  }

  /** Whether every served watch is live now (not failing): false while the API server is unreachable. */
  live(): boolean {
    return this.all.every((i) => i.notServed || (i.hasSynced && !i.lastError));
  }

  start(): void {
    this.log.info({ server: this.conn.server, identity: this.conn.identity, from: this.conn.source, watching: this.all.map((i) => i.name) }, "watching the Kubernetes API");
    for (const i of this.all) i.start();
    const started = Date.now();
    void Promise.all(this.all.map((i) => i.synced())).then((ok) => {
      if (ok.every(Boolean)) this.log.info({ ms: Date.now() - started }, "every Kubernetes API watch synced");
    });
  }

  /** True once every served resource is listed. */
  synced(): boolean {
    return this.all.every((i) => i.hasSynced || i.notServed);
  }

  problems(): string[] {
    const p: string[] = [];
    const now = Date.now();
    for (const i of this.all) {
      if (i.notServed) continue;
      const err = i.lastError;
      if (!i.hasSynced) p.push(`Kubernetes API watch of ${i.name} at ${this.conn.server} not synced yet${err ? ` (failing since ${new Date(err.since).toISOString()}: ${err.message})` : ""}`);
      else if (err && now - err.since > this.opts.graceMs) p.push(`Kubernetes API watch of ${i.name} at ${this.conn.server} failing since ${new Date(err.since).toISOString()} (${err.message}); its copy may be stale`);
    }
    return p;
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((i) => i.stop()));
    this.client.close();
  }

  private informer<T extends KubeObject>(type: ResourceType, given: InformerHandlers<T> | undefined): Informer<T> {
    const changed = (): void => {
      for (const fn of this.changeListeners) fn();
    };
    const handlers: InformerHandlers<T> = {
      onAdd: (o) => (given?.onAdd?.(o), changed()),
      onUpdate: (a, b) => (given?.onUpdate?.(a, b), changed()),
      onDelete: (o) => (given?.onDelete?.(o), changed()),
    };
    return new Informer<T>(this.client, type, {
      transform: withoutManagedFields,
      log: this.log,
      handlers,
      ...(this.opts.notServedRetryMs ? { notServedRetryMs: this.opts.notServedRetryMs } : {}),
    });
  }
}
