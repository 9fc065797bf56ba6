// Field ownership (metadata.managedFields) and server-side apply, after structured-merge-diff: an
// Update gives its manager the fields it changed (and takes them from the others); an Apply merges the
// applied configuration, removes what the manager applied before and omits now (unless someone else
// owns it), and refuses to change a field another manager owns to a different value unless forced.
import { ApiError } from "./errors.js";
import { fieldSetOf, fromFieldsV1, MEMBER, pathText, removePath, toFieldsV1, valueAtPath, type FieldSet } from "./field-sets.js";
import { applyKeyOf, listStrategy } from "./merge-strategies.js";
import { clone, isObject, jsonEqual, type JsonObject, type KubeObject, type ManagedFieldsEntry } from "./objects.js";

export type Part = "main" | "status";

interface Owned {
  entry: ManagedFieldsEntry;
  paths: Set<string>;
}

const subresourceOf = (part: Part): { subresource?: string } => (part === "status" ? { subresource: "status" } : {});
const sameOwner = (e: ManagedFieldsEntry, manager: string, operation: string, part: Part): boolean => e.manager === manager && e.operation === operation && (e.subresource ?? "") === (part === "status" ? "status" : "");

function ownedOf(obj: KubeObject | undefined): Owned[] {
  return (obj?.metadata.managedFields ?? []).map((entry) => ({ entry, paths: fromFieldsV1(entry.fieldsV1) }));
}

function store(obj: KubeObject, owned: Owned[]): void {
  const kept = owned.filter((o) => o.paths.size > 0).map((o) => ({ ...o.entry, fieldsV1: toFieldsV1(o.paths) }));
  if (kept.length) obj.metadata.managedFields = kept;
  else delete obj.metadata.managedFields;
}

function entryFor(owned: Owned[], manager: string, operation: "Apply" | "Update", apiVersion: string, part: Part): Owned {
  let mine = owned.find((o) => sameOwner(o.entry, manager, operation, part));
  if (!mine) owned.push((mine = { entry: { manager, operation, apiVersion, time: "", fieldsType: "FieldsV1", fieldsV1: {}, ...subresourceOf(part) }, paths: new Set() }));
  mine.entry = { ...mine.entry, apiVersion, time: new Date().toISOString().replace(/\.\d+Z$/, "Z") };
  return mine;
}

/** After a create, update or patch by `manager`: it owns what it changed; the others lose those fields. */
export function recordUpdate(kind: string, old: KubeObject | undefined, next: KubeObject, manager: string, part: Part): void {
  const before = old ? fieldSetOf(kind, old, part) : new Map<string, unknown>();
  const after = fieldSetOf(kind, next, part);
  const changed = [...after].filter(([p, v]) => !before.has(p) || (v !== MEMBER && !jsonEqual(before.get(p), v))).map(([p]) => p);
  const owned = ownedOf(old);
  for (const o of owned) for (const p of [...o.paths]) if (!after.has(p) && p.startsWith('["f:status"') === (part === "status")) o.paths.delete(p);
  if (changed.length) {
    for (const o of owned) if (!sameOwner(o.entry, manager, "Update", part)) for (const p of changed) o.paths.delete(p);
    const mine = entryFor(owned, manager, "Update", next.apiVersion ?? "v1", part);
    for (const p of changed) mine.paths.add(p);
  }
  store(next, owned);
}

function conflictError(conflicts: { manager: string; apiVersion: string; path: string }[]): ApiError {
  const n = conflicts.length;
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) byManager.set(`"${c.manager}" using ${c.apiVersion}`, [...(byManager.get(`"${c.manager}" using ${c.apiVersion}`) ?? []), c.path]);
  const text = [...byManager].map(([who, paths]) => (paths.length === 1 ? `conflict with ${who}: ${paths[0]}` : `conflicts with ${who}:\n${paths.map((p) => `- ${p}`).join("\n")}`)).join("\n");
  return new ApiError(409, "Conflict", `Apply failed with ${n} conflict${n === 1 ? "" : "s"}: ${text}`, { causes: conflicts.map((c) => ({ reason: "FieldManagerConflict", message: `conflict with "${c.manager}" using ${c.apiVersion}`, field: c.path })) });
}

/** Merges an applied configuration into the live object as SMD does: keyed lists by key, sets as sets, atomic lists whole. */
function applyMerge(kind: string, live: JsonObject, applied: JsonObject, fields: string[]): JsonObject {
  const out = { ...live };
  for (const [k, v] of Object.entries(applied)) {
    const path = [...fields, k];
    const cur = out[k];
    if (isObject(v) && isObject(cur)) out[k] = applyMerge(kind, cur, v, path);
    else if (Array.isArray(v) && Array.isArray(cur)) {
      const s = listStrategy(kind, path);
      if (s.type === "set") out[k] = [...cur, ...v.filter((x) => !cur.some((c) => jsonEqual(c, x)))];
      else if (s.type === "map") {
        const merged = [...cur];
        for (const item of v) {
          const at = merged.findIndex((c) => isObject(c) && isObject(item) && jsonEqual(applyKeyOf(s, c), applyKeyOf(s, item)));
          if (at >= 0 && isObject(item)) merged[at] = applyMerge(kind, merged[at] as JsonObject, item, path);
          else merged.push(item);
        }
        out[k] = merged;
      } else out[k] = clone(v);
    } else out[k] = clone(v);
  }
  return out;
}

/**
 * Server-side apply of `applied` by `manager` onto `live` (undefined: the object is created). Returns
 * the object to store, with managedFields; throws 409 listing the conflicts unless `force`.
 */
export function serverSideApply(kind: string, live: KubeObject | undefined, applied: KubeObject, manager: string, force: boolean, part: Part): KubeObject {
  const appliedSet: FieldSet = fieldSetOf(kind, applied, part);
  const owned = ownedOf(live);
  const others = owned.filter((o) => !sameOwner(o.entry, manager, "Apply", part) && o.entry.manager !== manager);
  const conflicts: { manager: string; apiVersion: string; path: string; key: string; owner: Owned }[] = [];
  for (const [key, value] of appliedSet) {
    if (value === MEMBER || !live) continue;
    const current = valueAtPath(live, JSON.parse(key) as string[]);
    if (current === undefined || jsonEqual(current, value)) continue;
    for (const o of others) if (o.paths.has(key)) conflicts.push({ manager: o.entry.manager, apiVersion: o.entry.apiVersion, path: pathText(JSON.parse(key) as string[]), key, owner: o });
  }
  if (conflicts.length && !force) throw conflictError(conflicts);
  for (const c of conflicts) c.owner.paths.delete(c.key);

  const base = clone(live ?? { metadata: {} });
  const { metadata: appliedMeta, ...appliedRest } = applied;
  const { managedFields: _m, resourceVersion: _rv, ...metaToMerge } = appliedMeta;
  let next = applyMerge(kind, base, { ...appliedRest, metadata: metaToMerge }, []) as KubeObject;
  // What this manager applied before and leaves out now goes, unless another manager still holds it.
  const mine = entryFor(owned, manager, "Apply", applied.apiVersion ?? "v1", part);
  const heldByOthers = (key: string): boolean => others.some((o) => [...o.paths].some((p) => p === key || p.startsWith(key.slice(0, -1) + ",")));
  const dropped = [...mine.paths].filter((p) => !appliedSet.has(p) && !heldByOthers(p)).sort((a, b) => b.length - a.length);
  next = clone(next);
  for (const p of dropped) removePath(next, JSON.parse(p) as string[]);
  mine.paths = new Set(appliedSet.keys());
  store(next, owned);
  return next;
}
