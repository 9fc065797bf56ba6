// Strategic merge patch with apimachinery's semantics (strategicpatch.StrategicMergePatch): maps merge,
// null deletes, lists merge by their merge key or as sets where the kind's table says so and are
// replaced otherwise, and the directives $patch (replace|delete|merge), $retainKeys,
// $setElementOrder/<list> and $deleteFromPrimitiveList/<list> act as kubectl writes them.
import { badRequest } from "./errors.js";
import { clone, isObject, jsonEqual, type JsonObject } from "./objects.js";
import { listStrategy } from "./merge-strategies.js";

const PATCH = "$patch";
const RETAIN = "$retainKeys";
const ORDER = "$setElementOrder/";
const DELETE_PRIMITIVE = "$deleteFromPrimitiveList/";

export function strategicMergePatch(kind: string, original: JsonObject, patch: JsonObject): JsonObject {
  return mergeMap(kind, clone(original), patch, []) ?? {};
}

/** Undefined: the map is deleted ($patch: delete). */
function mergeMap(kind: string, original: JsonObject, patch: JsonObject, path: string[]): JsonObject | undefined {
  const directive = patch[PATCH];
  if (directive === "delete") return undefined;
  if (directive === "replace") return stripDirectives(patch);
  if (directive !== undefined && directive !== "merge") throw badRequest(`Unknown patch type: ${String(directive)} in map: ${JSON.stringify(patch)}`);
  const out = original;
  for (const [key, value] of Object.entries(patch)) {
    if (key === PATCH || key === RETAIN || key.startsWith(ORDER)) continue;
    if (key.startsWith(DELETE_PRIMITIVE)) {
      const field = key.slice(DELETE_PRIMITIVE.length);
      const drop = Array.isArray(value) ? value : [];
      if (Array.isArray(out[field])) out[field] = (out[field] as unknown[]).filter((x) => !drop.some((d) => jsonEqual(d, x)));
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const sub = [...path, key];
    const current = out[key];
    if (isObject(value)) {
      const merged = mergeMap(kind, isObject(current) ? current : {}, value, sub);
      if (merged === undefined) delete out[key];
      else out[key] = merged;
    } else if (Array.isArray(value)) {
      out[key] = mergeList(kind, Array.isArray(current) ? current : [], value, sub);
    } else out[key] = value;
  }
  for (const [key, order] of Object.entries(patch)) {
    if (key.startsWith(ORDER) && Array.isArray(order) && Array.isArray(out[key.slice(ORDER.length)])) {
      const field = key.slice(ORDER.length);
      out[field] = sortByOrder(out[field] as unknown[], order, listStrategy(kind, [...path, field]));
    }
  }
  const retain = patch[RETAIN];
  if (Array.isArray(retain)) for (const key of Object.keys(out)) if (!retain.includes(key)) delete out[key];
  return out;
}

function mergeList(kind: string, original: unknown[], patch: unknown[], path: string[]): unknown[] {
  const strategy = listStrategy(kind, path);
  if (strategy.type === "atomic") return patch.map((x) => (isObject(x) ? stripDirectives(x) : x));
  if (strategy.type === "set") {
    const out = [...original];
    for (const v of patch) if (!out.some((x) => jsonEqual(x, v))) out.push(v);
    return out;
  }
  const key = strategy.key;
  // An element {$patch: replace} makes the patch's other elements the whole list.
  if (patch.some((x) => isObject(x) && x[PATCH] === "replace")) return patch.filter((x) => !(isObject(x) && x[PATCH] === "replace")).map((x) => (isObject(x) ? stripDirectives(x) : x));
  const out = [...original];
  for (const element of patch) {
    if (!isObject(element)) throw badRequest(`unable to find api field in struct for the list element ${JSON.stringify(element)} of ${path.join(".")}`);
    if (!(key in element)) throw badRequest(`map: ${JSON.stringify(element)} does not contain declared merge key: ${key}`);
    const at = out.findIndex((x) => isObject(x) && jsonEqual(x[key], element[key]));
    if (element[PATCH] === "delete") {
      if (at >= 0) out.splice(at, 1);
      continue;
    }
    if (at >= 0) {
      const merged = mergeMap(kind, out[at] as JsonObject, element, path);
      if (merged === undefined) out.splice(at, 1);
      else out[at] = merged;
    } else out.push(stripDirectives(element));
  }
  return out;
}

/** $setElementOrder: the listed elements in the given order, the others (the server's own) after them. */
function sortByOrder(list: unknown[], order: unknown[], strategy: ReturnType<typeof listStrategy>): unknown[] {
  const keyOf = (x: unknown): unknown => (strategy.type === "map" && isObject(x) ? x[strategy.key] : x);
  const rank = (x: unknown): number => {
    const i = order.findIndex((o) => jsonEqual(keyOf(o), keyOf(x)));
    return i < 0 ? order.length : i;
  };
  return list.map((x, i) => ({ x, i })).sort((a, b) => rank(a.x) - rank(b.x) || a.i - b.i).map((e) => e.x);
}

function stripDirectives(obj: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === PATCH || k === RETAIN || k.startsWith(ORDER) || k.startsWith(DELETE_PRIMITIVE)) continue;
    out[k] = isObject(v) ? stripDirectives(v) : Array.isArray(v) ? v.map((x) => (isObject(x) ? stripDirectives(x) : x)) : v;
  }
  return out;
}
