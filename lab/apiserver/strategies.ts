// Per-kind rules applied to every write, as kube's registry strategies (PrepareForCreate,
// PrepareForUpdate, defaulting): identity and timestamps, generation on spec changes, status kept
// apart from the main resource, defaults the lab's kinds get, and the namespace's name label.
import { randomUUID } from "node:crypto";
import { clone, isObject, jsonEqual, type JsonObject, type KubeObject } from "./objects.js";
import type { ResourceInfo } from "./resources.js";

export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, "Z");
const hasStatus = (r: ResourceInfo): boolean => r.subresources.includes("status");

function defaultContainers(list: unknown): void {
  if (!Array.isArray(list)) return;
  for (const c of list) {
    if (!isObject(c)) continue;
    const image = String(c.image ?? "");
    c.imagePullPolicy ??= image.includes(":") && !image.endsWith(":latest") ? "IfNotPresent" : "Always";
    c.terminationMessagePath ??= "/dev/termination-log";
    c.terminationMessagePolicy ??= "File";
    c.resources ??= {};
    if (Array.isArray(c.ports)) for (const p of c.ports) if (isObject(p)) p.protocol ??= "TCP";
  }
}

function defaultPodSpec(spec: JsonObject): void {
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  defaultContainers(spec.containers);
  defaultContainers(spec.initContainers);
}

function defaults(r: ResourceInfo, obj: KubeObject): void {
  const spec = (obj.spec ??= {});
  if (r.kind === "Pod") defaultPodSpec(spec);
  if (r.kind === "Deployment" || r.kind === "StatefulSet") {
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    if (isObject(spec.template)) defaultPodSpec((spec.template.spec ??= {}) as JsonObject);
    if (r.kind === "Deployment") {
      spec.strategy ??= { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } };
      spec.progressDeadlineSeconds ??= 600;
    } else {
      spec.podManagementPolicy ??= "OrderedReady";
      spec.updateStrategy ??= { type: "RollingUpdate", rollingUpdate: { partition: 0 } };
    }
  }
  if (r.kind === "Service") {
    spec.sessionAffinity ??= "None";
    if (spec.type !== "ExternalName") spec.internalTrafficPolicy ??= "Cluster";
  }
  if (r.kind === "Namespace") {
    obj.metadata.labels = { ...obj.metadata.labels, [NAMESPACE_NAME_LABEL]: obj.metadata.name ?? "" };
    spec.finalizers ??= ["kubernetes"];
  }
  if (["Secret", "ConfigMap", "Endpoints", "EndpointSlice", "IngressClass"].includes(r.kind) && Object.keys(spec).length === 0) delete obj.spec;
  if (r.kind === "Secret") obj.type ??= "Opaque";
}

function initialStatus(r: ResourceInfo): JsonObject | undefined {
  if (r.kind === "Pod") return { phase: "Pending", qosClass: "BestEffort" };
  if (r.kind === "Service") return { loadBalancer: {} };
  if (r.kind === "Namespace") return { phase: "Active" };
  if (r.kind === "Ingress") return { loadBalancer: {} };
  return hasStatus(r) ? {} : undefined;
}

export function prepareForCreate(r: ResourceInfo, obj: KubeObject): KubeObject {
  const out = clone(obj);
  const { resourceVersion: _rv, deletionTimestamp: _dt, deletionGracePeriodSeconds: _dg, ...meta } = out.metadata;
  out.metadata = { ...meta, uid: randomUUID(), creationTimestamp: now() };
  if (out.spec !== undefined || ["Pod", "Deployment", "StatefulSet", "Service", "Ingress", "NetworkPolicy", "ClusterNetworkPolicy"].includes(r.kind)) out.metadata.generation = 1;
  defaults(r, out);
  // The main resource sets no status on a kind that has a status subresource (kube resets it).
  if (hasStatus(r)) {
    const status = initialStatus(r);
    if (status) out.status = status;
    else delete out.status;
  }
  if (out.metadata.generation === undefined || r.kind === "Namespace") delete out.metadata.generation;
  return out;
}

/** A write of the main resource (`part` main) or of /status onto `old`. */
export function prepareForUpdate(r: ResourceInfo, old: KubeObject, next: KubeObject, part: "main" | "status"): KubeObject {
  let out = clone(next);
  if (part === "status") {
    // Only status changes through /status; metadata except labels/annotations and the spec stay.
    out = { ...clone(old), status: out.status ?? {} };
  } else {
    defaults(r, out);
    if (hasStatus(r)) {
      if (old.status === undefined) delete out.status;
      else out.status = clone(old.status);
    }
  }
  out.metadata = { ...out.metadata, uid: old.metadata.uid, creationTimestamp: old.metadata.creationTimestamp, name: old.metadata.name, ...(old.metadata.namespace ? { namespace: old.metadata.namespace } : {}) };
  for (const f of ["deletionTimestamp", "deletionGracePeriodSeconds"] as const) {
    if (old.metadata[f] !== undefined) (out.metadata as Record<string, unknown>)[f] = old.metadata[f];
    else delete out.metadata[f];
  }
  if (old.metadata.generation !== undefined) out.metadata.generation = old.metadata.generation + (part === "main" && !jsonEqual(old.spec, out.spec) ? 1 : 0);
  return out;
}
