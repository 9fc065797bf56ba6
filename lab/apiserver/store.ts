// Objects in etcd as kube-apiserver's storage/etcd3 keeps them: one key per object, JSON values, the
// key's ModRevision as metadata.resourceVersion, a list's at the header revision, and optimistic
// concurrency as transactions on ModRevision (create: the key must not exist).
import type { Etcd3, IKeyValue } from "etcd3";
import { alreadyExists, conflict, expired, notFound } from "./errors.js";
import type { KubeObject } from "./objects.js";
import { etcdKey, etcdPrefix, type ResourceInfo } from "./resources.js";

export interface Listed {
  items: KubeObject[];
  resourceVersion: string;
}

export function decode(kv: IKeyValue): KubeObject {
  const obj = JSON.parse(kv.value.toString()) as KubeObject;
  obj.metadata.resourceVersion = String(kv.mod_revision);
  return obj;
}

/** Stored without resourceVersion: the revision is etcd's, not the value's. */
function encode(obj: KubeObject): string {
  const { resourceVersion: _rv, ...metadata } = obj.metadata;
  return JSON.stringify({ ...obj, metadata });
}

const isCompacted = (err: unknown): boolean => /compacted/i.test(String((err as Error)?.message));

export class ObjectStore {
  constructor(readonly etcd: Etcd3) {}

  async get(r: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject> {
    const res = await this.etcd.get(etcdKey(r, namespace, name)).exec();
    const kv = res.kvs[0];
    if (!kv) throw notFound(r, name);
    return decode(kv);
  }

  async tryGet(r: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const res = await this.etcd.get(etcdKey(r, namespace, name)).exec();
    return res.kvs[0] && decode(res.kvs[0]);
  }

  /** All objects under a prefix; `revision` reads that point in time (410 when it has been compacted). */
  async list(r: ResourceInfo, namespace: string | undefined, revision?: string): Promise<Listed> {
    const range = this.etcd.getAll().prefix(etcdPrefix(r, namespace));
    if (revision) range.revision(revision);
    try {
      const res = await range.exec();
      return { items: res.kvs.map(decode), resourceVersion: revision ?? String(res.header.revision) };
    } catch (err) {
      if (isCompacted(err)) throw expired(`too old resource version: ${revision} (${await this.compactedRevision()})`);
      throw err;
    }
  }

  async currentRevision(): Promise<string> {
    const res = await this.etcd.get("/registry/").exec();
    return String(res.header.revision);
  }

  /**
   * The oldest revision etcd still has, found by reading at revisions (etcd tells no other way); only
   * asked when a client's revision turned out too old, to write kube's "too old resource version: N (M)".
   */
  async compactedRevision(): Promise<string> {
    let lo = 1;
    let hi = Number(await this.currentRevision());
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const ok = await this.etcd.get("/registry/").revision(mid).exec().then(() => true, (err: unknown) => (isCompacted(err) ? false : Promise.reject(err)));
      if (ok) hi = mid;
      else lo = mid + 1;
    }
    return String(lo);
  }

  /** Fails with 410 Expired when `revision` is older than etcd's compaction. */
  async assertRevisionAvailable(revision: string): Promise<void> {
    try {
      await this.etcd.get("/registry/").revision(revision).exec();
    } catch (err) {
      if (isCompacted(err)) throw expired(`too old resource version: ${revision} (${await this.compactedRevision()})`);
      throw err;
    }
  }

  async create(r: ResourceInfo, obj: KubeObject): Promise<KubeObject> {
    const key = etcdKey(r, obj.metadata.namespace, obj.metadata.name ?? "");
    const res = await this.etcd.if(key, "Mod", "==", 0).then(this.etcd.put(key).value(encode(obj))).commit();
    if (!res.succeeded) throw alreadyExists(r, obj.metadata.name ?? "");
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(res.header.revision) } };
  }

  /** Writes `obj` if the stored object is still at `expected` (the revision it was read at). */
  async update(r: ResourceInfo, obj: KubeObject, expected: string): Promise<KubeObject> {
    const key = etcdKey(r, obj.metadata.namespace, obj.metadata.name ?? "");
    const res = await this.etcd.if(key, "Mod", "==", expected).then(this.etcd.put(key).value(encode(obj))).commit();
    if (!res.succeeded) {
      if (!(await this.tryGet(r, obj.metadata.namespace, obj.metadata.name ?? ""))) throw notFound(r, obj.metadata.name ?? "");
      throw conflict(r, obj.metadata.name ?? "");
    }
    return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(res.header.revision) } };
  }

  async delete(r: ResourceInfo, obj: KubeObject): Promise<string> {
    const key = etcdKey(r, obj.metadata.namespace, obj.metadata.name ?? "");
    const res = await this.etcd.if(key, "Mod", "==", obj.metadata.resourceVersion ?? "0").then(this.etcd.delete().key(key)).commit();
    if (!res.succeeded) throw conflict(r, obj.metadata.name ?? "");
    return String(res.header.revision);
  }

  /**
   * Read, change, write, retried on conflict, as kube's GuaranteedUpdate: `change` gets the current
   * object (undefined when missing) and returns what to store, or `undefined` to leave it.
   */
  async guaranteedUpdate(r: ResourceInfo, namespace: string | undefined, name: string, change: (current: KubeObject | undefined) => Promise<KubeObject | undefined> | KubeObject | undefined): Promise<{ obj: KubeObject | undefined; created: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.tryGet(r, namespace, name);
      const next = await change(current && structuredClone(current));
      if (!next) return { obj: current, created: false };
      try {
        if (!current) return { obj: await this.create(r, next), created: true };
        if (JSON.stringify(next) === JSON.stringify(current)) return { obj: current, created: false };
        return { obj: await this.update(r, next, current.metadata.resourceVersion ?? "0"), created: false };
      } catch (err) {
        if (attempt < 8 && (err as { code?: number }).code === 409 && (err as { reason?: string }).reason !== undefined) continue;
        throw err;
      }
    }
  }
}
