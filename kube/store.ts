// The informer's copy of a resource's objects, by namespace/name. A relist replaces it whole and
// says what changed, so the handlers hear of every difference once: an object gone while the watch
// was down is a delete, one that came is an add, one that changed (another resourceVersion) an update.
import { objectKey, type KubeObject } from "./resources.js";

export interface StoreChanges<T> {
  added: T[];
  updated: { old: T; obj: T }[];
  deleted: T[];
}

/** What readers of an informer's store see (never the writes). */
export interface ObjectStoreView<T extends KubeObject> {
  get(key: string): T | undefined;
  list(): T[];
  readonly size: number;
}

export class ObjectStore<T extends KubeObject> implements ObjectStoreView<T> {
  private readonly objects = new Map<string, T>();

  get size(): number {
    return this.objects.size;
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  /** Puts an object in; the one it replaced, if any. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.objects.get(key);
    this.objects.set(key, obj);
    return old;
  }

  /** Takes an object out; the one that was there, if any. */
  remove(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.objects.get(key);
    this.objects.delete(key);
    return old;
  }

  /** Makes the store hold exactly `items`; what changed, for the handlers. */
  replace(items: T[]): StoreChanges<T> {
    const changes: StoreChanges<T> = { added: [], updated: [], deleted: [] };
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.objects.get(key);
      if (!old) changes.added.push(obj);
      // The same resourceVersion is the same object: no event for it.
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) changes.updated.push({ old, obj });
      this.objects.set(key, obj);
    }
    for (const [key, old] of this.objects) {
      if (seen.has(key)) continue;
      changes.deleted.push(old);
      this.objects.delete(key);
    }
    return changes;
  }
}
