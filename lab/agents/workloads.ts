// The Deployment and StatefulSet controllers as a pure function: a workload's pods from its template —
// a Deployment's named <name>-<template hash>-<5 letters>, a StatefulSet's <name>-<ordinal> with its
// hostname and subdomain — what to create and what to delete. A template change replaces every pod
// (the lab has no surge or availability budget to roll by); pods being deleted count for nothing.
import { createHash } from "node:crypto";
import type { Pod } from "../../proxy/model.js";
import type { Workload } from "../apiserver/manifests.js";

/** The workload a pod belongs to: "Deployment/ns/name" (kubectl exec deploy/NAME reads it too). */
export const OWNER = "lab.weft.dev/owner";
export const TEMPLATE_HASH = "pod-template-hash";
const SUFFIX = "bcdfghjklmnpqrstvwxz2456789";

export interface ApiWorkload extends Workload {
  apiVersion?: string;
  metadata: Workload["metadata"] & { uid?: string; deletionTimestamp?: string };
}

/** JSON with every object's keys sorted: equal for equal content, whatever order the keys came in. */
export const stable = (o: unknown): string => JSON.stringify(o, (_k, v: unknown) => (v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
/** The template's hash, as the pods' pod-template-hash label carries it. */
export const templateHash = (w: Pick<Workload, "spec">): string => createHash("sha256").update(stable(w.spec.template)).digest("hex").slice(0, 10);
export const ownerKey = (w: ApiWorkload): string => `${w.kind}/${w.metadata.namespace ?? "default"}/${w.metadata.name}`;

export interface WorkloadChanges {
  create: Pod[];
  /** Names of pods to delete. */
  delete: string[];
}

function podFor(w: ApiWorkload, hash: string, name: string): Pod {
  const spec: Pod["spec"] = { ...w.spec.template.spec, ...(w.kind === "StatefulSet" ? { hostname: name, ...(w.spec.serviceName ? { subdomain: w.spec.serviceName } : {}) } : {}) };
  const ownerReferences = w.metadata.uid ? [{ apiVersion: "apps/v1", kind: w.kind, name: w.metadata.name, uid: w.metadata.uid, controller: true }] : [];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: w.metadata.namespace ?? "default", labels: { ...(w.spec.template.metadata?.labels ?? {}), [TEMPLATE_HASH]: hash }, annotations: { [OWNER]: ownerKey(w) }, ...(ownerReferences.length ? { ownerReferences } : {}) },
    spec,
  };
}

/** What brings `w`'s pods (the pods it owns, `owned`) to its spec; `random` names a Deployment's pods. */
export function reconcileWorkload(w: ApiWorkload, owned: Pod[], random: () => number = Math.random): WorkloadChanges {
  const hash = templateHash(w);
  const live = owned.filter((p) => !p.metadata.deletionTimestamp);
  const current = live.filter((p) => p.metadata.labels?.[TEMPLATE_HASH] === hash);
  const stale = live.filter((p) => p.metadata.labels?.[TEMPLATE_HASH] !== hash).map((p) => p.metadata.name);
  const replicas = w.spec.replicas ?? 1;
  if (w.kind === "StatefulSet") {
    const names = new Set(current.map((p) => p.metadata.name));
    // An ordinal whose old pod is still terminating waits for it: two pods of one name cannot exist.
    const terminating = new Set(owned.filter((p) => p.metadata.deletionTimestamp).map((p) => p.metadata.name));
    const wanted = Array.from({ length: replicas }, (_, i) => `${w.metadata.name}-${i}`);
    return {
      create: wanted.filter((n) => !names.has(n) && !terminating.has(n) && !stale.includes(n)).map((n) => podFor(w, hash, n)),
      delete: [...stale, ...current.filter((p) => !wanted.includes(p.metadata.name)).map((p) => p.metadata.name)],
    };
  }
  const name = (): string => `${w.metadata.name}-${hash}-${Array.from({ length: 5 }, () => SUFFIX[Math.floor(random() * SUFFIX.length)]).join("")}`;
  return {
    create: Array.from({ length: Math.max(0, replicas - current.length) }, () => podFor(w, hash, name())),
    delete: [...stale, ...current.slice(replicas).map((p) => p.metadata.name)],
  };
}

/** The workload's status as kubectl's READY and UP-TO-DATE columns read it. */
export function workloadStatus(w: ApiWorkload, owned: Pod[]): object {
  const hash = templateHash(w);
  const live = owned.filter((p) => !p.metadata.deletionTimestamp);
  const ready = live.filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length;
  const updated = live.filter((p) => p.metadata.labels?.[TEMPLATE_HASH] === hash).length;
  const base = { observedGeneration: (w.metadata as { generation?: number }).generation ?? 1, replicas: live.length, readyReplicas: ready, updatedReplicas: updated, availableReplicas: ready };
  return w.kind === "StatefulSet" ? { ...base, currentReplicas: updated } : base;
}
