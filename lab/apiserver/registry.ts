// The verbs on stored objects, as kube's generic registry runs them: create, update, the patch types,
// server-side apply, graceful deletion with finalizers, pod binding. Each write goes through the
// kind's strategy, validation and field ownership, then one etcd transaction.
import { randomBytes } from "node:crypto";
import type { Service } from "../../proxy/model.js";
import { AllocationError } from "./allocators.js";
import { ApiError, badRequest, conflict, invalid, namespaceNotFound, namespaceTerminating, notFound, unsupportedMediaType } from "./errors.js";
import { jsonPatch, mergePatch } from "./json-patch.js";
import { recordUpdate, serverSideApply, type Part } from "./managed-fields.js";
import { isObject, type JsonObject, type KubeObject } from "./objects.js";
import { findResource, RESOURCES, type ResourceInfo } from "./resources.js";
import { allocationCause, settleServiceSpec } from "./service-addresses.js";
import type { ObjectStore } from "./store.js";
import { prepareForCreate, prepareForUpdate } from "./strategies.js";
import { strategicMergePatch } from "./strategic-merge.js";
import { validate } from "./validation.js";

export const PATCH_TYPES = { json: "application/json-patch+json", merge: "application/merge-patch+json", strategic: "application/strategic-merge-patch+json", apply: "application/apply-patch+yaml" } as const;
export interface WriteOptions {
  manager: string;
  dryRun: boolean;
}

const NAMESPACES = findResource("", "v1", "namespaces") as ResourceInfo;
const NAMESPACE_DELETION_GRACE_MS = 5_000;
const SERVICES = findResource("", "v1", "services") as ResourceInfo;

export class Registry {
  /** Service writes one at a time: allocation reads every Service, then writes one. */
  private serviceQueue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly store: ObjectStore,
    private readonly serviceCidr: string,
  ) {}

  private serialized<T>(r: ResourceInfo, fn: () => Promise<T>): Promise<T> {
    if (r !== SERVICES) return fn();
    const next = this.serviceQueue.then(fn, fn);
    this.serviceQueue = next.catch(() => undefined);
    return next;
  }

  async requireNamespace(r: ResourceInfo, namespace: string | undefined, name = ""): Promise<void> {
    if (!r.namespaced) return;
    const ns = await this.store.tryGet(NAMESPACES, undefined, namespace ?? "");
    if (!ns) throw namespaceNotFound(namespace ?? "");
    if (ns.metadata.deletionTimestamp) throw namespaceTerminating(r, name, namespace ?? "");
  }

  /** Validation and, for Services, addresses: what every write of the main resource passes. */
  private async admit(r: ResourceInfo, obj: KubeObject, old: KubeObject | undefined): Promise<void> {
    const causes = validate(r, obj);
    if (causes.length) throw invalid(r, obj.metadata.name ?? "", causes);
    if (r !== SERVICES) return;
    const others = (await this.store.list(SERVICES, undefined)).items.filter((s) => !(s.metadata.name === obj.metadata.name && s.metadata.namespace === obj.metadata.namespace));
    try {
      settleServiceSpec(obj.spec as Service["spec"], old?.spec as Service["spec"] | undefined, others.map((s) => s.spec as Service["spec"]), this.serviceCidr);
    } catch (err) {
      if (err instanceof AllocationError) throw invalid(r, obj.metadata.name ?? "", [allocationCause(err)]);
      throw err;
    }
  }

  private checkIdentity(r: ResourceInfo, namespace: string | undefined, body: KubeObject, name?: string): KubeObject {
    if (!isObject(body) || !isObject(body.metadata)) throw badRequest(`Object 'metadata' is missing in '${JSON.stringify(body).slice(0, 200)}'`);
    if (r.namespaced) {
      if (body.metadata.namespace && body.metadata.namespace !== namespace) throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      body.metadata.namespace = namespace;
    } else delete body.metadata.namespace;
    if (name !== undefined && body.metadata.name !== undefined && body.metadata.name !== name) throw badRequest("the name of the object does not match the name on the URL");
    if (name !== undefined) body.metadata.name = name;
    return body;
  }

  async create(r: ResourceInfo, namespace: string | undefined, body: KubeObject, opts: WriteOptions): Promise<KubeObject> {
    this.checkIdentity(r, namespace, body);
    if (!body.metadata.name && body.metadata.generateName) body.metadata.name = `${body.metadata.generateName}${randomBytes(4).toString("hex").slice(0, 5)}`;
    await this.requireNamespace(r, namespace, body.metadata.name ?? "");
    return this.serialized(r, async () => {
      const obj = prepareForCreate(r, body);
      await this.admit(r, obj, undefined);
      recordUpdate(r.kind, undefined, obj, opts.manager, "main");
      return opts.dryRun ? obj : this.store.create(r, obj);
    });
  }

  /** The object to store after a write of `candidate` over `old` (main resource or status). */
  private async prepareUpdate(r: ResourceInfo, old: KubeObject, candidate: KubeObject, part: Part, manager: string): Promise<KubeObject> {
    const next = prepareForUpdate(r, old, candidate, part);
    if (part === "main") await this.admit(r, next, old);
    recordUpdate(r.kind, old, next, manager, part);
    return next;
  }

  async update(r: ResourceInfo, namespace: string | undefined, name: string, body: KubeObject, part: Part, opts: WriteOptions): Promise<KubeObject> {
    this.checkIdentity(r, namespace, body, name);
    const expected = body.metadata.resourceVersion;
    return this.serialized(r, async () => {
      const old = await this.store.tryGet(r, namespace, name);
      if (!old) {
        if (r.kind !== "Endpoints" || part !== "main") throw notFound(r, name);
        return this.create(r, namespace, body, opts);
      }
      if (expected && expected !== old.metadata.resourceVersion) throw conflict(r, name);
      const next = await this.prepareUpdate(r, old, body, part, opts.manager);
      if (opts.dryRun) return next;
      return this.finishWrite(r, next, old.metadata.resourceVersion ?? "0");
    });
  }

  /** Writes, then removes an object whose deletion waited only for what this write cleared. */
  private async finishWrite(r: ResourceInfo, next: KubeObject, expected: string): Promise<KubeObject> {
    const stored = await this.store.update(r, next, expected);
    const m = stored.metadata;
    if (m.deletionTimestamp && !(m.finalizers ?? []).length && !m.deletionGracePeriodSeconds) await this.store.delete(r, stored).catch(() => undefined);
    return stored;
  }

  async patch(r: ResourceInfo, namespace: string | undefined, name: string, contentType: string, raw: unknown, part: Part, opts: WriteOptions & { force: boolean }): Promise<{ obj: KubeObject; created: boolean }> {
    const type = contentType.split(";")[0]?.trim() ?? "";
    if (type === PATCH_TYPES.strategic && !r.strategicMerge) throw new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`);
    if (!Object.values(PATCH_TYPES).includes(type as never)) throw unsupportedMediaType(type);
    if (type === PATCH_TYPES.apply && !opts.manager) throw badRequest("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch");
    return this.serialized(r, async () => {
      for (let attempt = 0; ; attempt++) {
        const old = await this.store.tryGet(r, namespace, name);
        let next: KubeObject;
        if (type === PATCH_TYPES.apply) {
          const applied = this.checkIdentity(r, namespace, raw as KubeObject, name);
          if (!old) {
            await this.requireNamespace(r, namespace, name);
            const obj = prepareForCreate(r, serverSideApply(r.kind, undefined, applied, opts.manager, opts.force, part));
            await this.admit(r, obj, undefined);
            return { obj: opts.dryRun ? obj : await this.store.create(r, obj), created: true };
          }
          const merged = serverSideApply(r.kind, old, applied, opts.manager, opts.force, part);
          next = prepareForUpdate(r, old, merged, part);
          if (part === "main") await this.admit(r, next, old);
          next.metadata.managedFields = merged.metadata.managedFields;
        } else {
          if (!old) throw notFound(r, name);
          const current = old as JsonObject;
          const patched = (type === PATCH_TYPES.json ? jsonPatch(current, raw) : type === PATCH_TYPES.merge ? mergePatch(current, raw) : strategicMergePatch(r.kind, current, raw as JsonObject)) as KubeObject;
          if (!isObject(patched.metadata)) patched.metadata = {};
          const expected = patched.metadata.resourceVersion;
          if (expected && expected !== old.metadata.resourceVersion) throw conflict(r, name);
          next = await this.prepareUpdate(r, old, patched, part, opts.manager);
        }
        if (opts.dryRun) return { obj: next, created: false };
        try {
          return { obj: await this.finishWrite(r, next, old.metadata.resourceVersion ?? "0"), created: false };
        } catch (err) {
          // Someone wrote between our read and our write: patches apply to the newest object.
          if (err instanceof ApiError && err.reason === "Conflict" && attempt < 5) continue;
          throw err;
        }
      }
    });
  }

  /**
   * DELETE: an object with finalizers, or a pod bound to a node, gets deletionTimestamp and stays (the
   * kubelet's DELETE with gracePeriodSeconds=0 removes the pod); the others go at once.
   */
  async delete(r: ResourceInfo, namespace: string | undefined, name: string, opts: { gracePeriodSeconds?: number; resourceVersion?: string; uid?: string; dryRun: boolean }): Promise<KubeObject> {
    for (let attempt = 0; ; attempt++) {
      const old = await this.store.get(r, namespace, name);
      if (opts.resourceVersion && opts.resourceVersion !== old.metadata.resourceVersion) throw conflict(r, name, `Precondition failed: ResourceVersion in precondition: ${opts.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
      if (opts.uid && opts.uid !== old.metadata.uid) throw conflict(r, name, `Precondition failed: UID in precondition: ${opts.uid}, UID in object meta: ${old.metadata.uid}`);
      const bound = r.kind === "Pod" && Boolean(old.spec?.nodeName);
      const podGrace = Number(opts.gracePeriodSeconds ?? old.spec?.terminationGracePeriodSeconds ?? 30);
      const grace = bound ? Math.min(podGrace, old.metadata.deletionGracePeriodSeconds ?? podGrace) : 0;
      const finalizers = old.metadata.finalizers ?? [];
      if (opts.dryRun) return old;
      try {
        if (r === NAMESPACES) return await this.terminateNamespace(old);
        if (finalizers.length || grace > 0) {
          const next: KubeObject = { ...old, metadata: { ...old.metadata, deletionTimestamp: old.metadata.deletionTimestamp ?? new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, "Z"), deletionGracePeriodSeconds: grace } };
          return await this.store.update(r, next, old.metadata.resourceVersion ?? "0");
        }
        await this.store.delete(r, old);
        return old;
      } catch (err) {
        if (err instanceof ApiError && err.reason === "Conflict" && attempt < 5) continue;
        throw err;
      }
    }
  }

  /**
   * A namespace's deletion as kube does it: marked Terminating at once (nothing new may go in), then the
   * namespace controller's work — each object in it deleted as a client's DELETE would (pods gracefully,
   * so their kubelets stop them) — and the namespace itself removed once it is empty.
   */
  private async terminateNamespace(old: KubeObject): Promise<KubeObject> {
    if (old.metadata.deletionTimestamp) return old;
    const next: KubeObject = { ...old, metadata: { ...old.metadata, deletionTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"), deletionGracePeriodSeconds: 0 }, status: { ...(old.status as object), phase: "Terminating" } };
    const marked = await this.store.update(NAMESPACES, next, old.metadata.resourceVersion ?? "0");
    void this.emptyNamespace(old.metadata.name ?? "");
    return marked;
  }

  /**
   * The namespace controller: deletes what is in it (again while some remains), then the namespace.
   * It starts 5 s after the deletion, as kube-controller-manager's does (its namespaceDeletionGracePeriod):
   * a client deleting a namespace and then what is in it (`kubectl delete -f` of a file that holds both)
   * still finds each object.
   */
  private async emptyNamespace(namespace: string): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, NAMESPACE_DELETION_GRACE_MS));
    for (let round = 0; ; round++) {
      let left = 0;
      for (const r of RESOURCES.filter((x) => x.namespaced)) {
        for (const o of (await this.store.list(r, namespace).catch(() => ({ items: [] as KubeObject[] }))).items) {
          left++;
          if (!o.metadata.deletionTimestamp) await this.delete(r, namespace, o.metadata.name ?? "", { dryRun: false }).catch(() => undefined);
        }
      }
      const ns = await this.store.tryGet(NAMESPACES, undefined, namespace);
      if (!ns) return;
      if (left === 0) {
        await this.store.delete(NAMESPACES, ns).catch(() => undefined);
        return;
      }
      // Pods being stopped by their kubelets: looked at again, less often as it drags on.
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * (round + 1))));
    }
  }

  async bind(namespace: string, name: string, body: JsonObject): Promise<void> {
    const pods = findResource("", "v1", "pods") as ResourceInfo;
    const node = isObject(body.target) ? String(body.target.name ?? "") : "";
    if (!node) throw invalid({ ...pods, kind: "Binding" }, name, [{ reason: "FieldValueRequired", message: "Required value", field: "target.name" }]);
    await this.store.guaranteedUpdate(pods, namespace, name, (pod) => {
      if (!pod) throw notFound(pods, name);
      if (pod.spec?.nodeName) throw conflict(pods, name, `pod ${name} is already assigned to node "${String(pod.spec.nodeName)}"`);
      if (pod.metadata.deletionTimestamp) throw conflict(pods, name, `pod ${name} is being deleted, cannot be assigned to a host`);
      return { ...pod, spec: { ...pod.spec, nodeName: node } };
    });
  }
}
