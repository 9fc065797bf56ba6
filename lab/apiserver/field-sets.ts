// Field sets as structured-merge-diff writes them in metadata.managedFields (fieldsV1): a path is a
// list of elements, `f:<field>`, `k:{"<key>":…}` for an element of a keyed list, `v:<json>` for one
// of a set. Leaves carry their value (for conflict checks); lists' elements and data maps are members.
import { applyKeyOf, isGranularMap, listStrategy } from "./merge-strategies.js";
import { isObject, type JsonObject } from "./objects.js";

export const MEMBER = Symbol("member");
/** path key (JSON of the element list) → the value there, or MEMBER for a node owned as a whole. */
export type FieldSet = Map<string, unknown>;

/** Fields no manager owns: identity and what the server sets. */
const SERVER_FIELDS = new Set(["name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"]);

export function fieldSetOf(kind: string, obj: JsonObject, part: "main" | "status"): FieldSet {
  const out: FieldSet = new Map();
  for (const [k, v] of Object.entries(obj)) {
    if (k === "apiVersion" || k === "kind") continue;
    if ((part === "status") !== (k === "status")) continue;
    if (k === "metadata" && isObject(v)) {
      for (const [mk, mv] of Object.entries(v)) if (!SERVER_FIELDS.has(mk)) walk(kind, mv, ["metadata", mk], [`f:metadata`, `f:${mk}`], out);
    } else walk(kind, v, [k], [`f:${k}`], out);
  }
  return out;
}

function walk(kind: string, value: unknown, fields: string[], els: string[], out: FieldSet): void {
  const key = JSON.stringify(els);
  if (isObject(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0 || isGranularMap(kind, fields)) out.set(key, entries.length === 0 ? {} : MEMBER);
    for (const [k, v] of entries) walk(kind, v, [...fields, k], [...els, `f:${k}`], out);
    return;
  }
  if (Array.isArray(value)) {
    const s = listStrategy(kind, fields);
    if (s.type === "atomic" || value.length === 0) out.set(key, value);
    else if (s.type === "set") for (const item of value) out.set(JSON.stringify([...els, `v:${JSON.stringify(item)}`]), item);
    else
      for (const item of value) {
        if (!isObject(item)) continue;
        const itemEls = [...els, `k:${JSON.stringify(applyKeyOf(s, item))}`];
        out.set(JSON.stringify(itemEls), MEMBER);
        for (const [k, v] of Object.entries(item)) walk(kind, v, fields, [...itemEls, `f:${k}`], out);
      }
    return;
  }
  out.set(key, value);
}

/** Whether a list element is the one a `k:` or `v:` path element names. */
function elementMatches(el: string, item: unknown): boolean {
  const body = el.slice(2);
  if (el.startsWith("v:")) return JSON.stringify(item) === body;
  const want = JSON.parse(body) as JsonObject;
  return isObject(item) && Object.entries(want).every(([k, w]) => (k === "protocol" ? (item[k] ?? "TCP") : item[k]) === w);
}

/** The value at a path in an object, or undefined. */
export function valueAtPath(obj: unknown, els: string[]): unknown {
  let v = obj;
  for (const el of els) {
    if (el.startsWith("f:")) v = isObject(v) ? v[el.slice(2)] : undefined;
    else v = Array.isArray(v) ? v.find((x) => elementMatches(el, x)) : undefined;
    if (v === undefined) return undefined;
  }
  return v;
}

/** Removes the node at a path (a field, a keyed element, a set's value). */
export function removePath(obj: JsonObject, els: string[]): void {
  const last = els[els.length - 1];
  if (!last) return;
  const container = valueAtPath(obj, els.slice(0, -1));
  if (last.startsWith("f:") && isObject(container)) delete container[last.slice(2)];
  else if (Array.isArray(container)) {
    const i = container.findIndex((x) => elementMatches(last, x));
    if (i >= 0) container.splice(i, 1);
  }
}

/** SMD's text for a path: .spec.containers[name="nginx"].image */
export function pathText(els: string[]): string {
  return els.map((el) => {
    const body = el.slice(2);
    if (el.startsWith("f:")) return `.${body}`;
    if (el.startsWith("k:")) return `[${Object.entries(JSON.parse(body) as JsonObject).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}]`;
    return `[=${body}]`;
  }).join("");
}

export function toFieldsV1(set: Iterable<string>): JsonObject {
  const root: JsonObject = {};
  for (const key of set) {
    const els = JSON.parse(key) as string[];
    let node = root;
    for (const el of els) node = (node[el] ??= {}) as JsonObject;
    node["."] = {};
  }
  // "." marks a node owned itself that also has children; a leaf is just {}.
  const tidy = (n: JsonObject): void => {
    for (const [k, v] of Object.entries(n)) {
      if (k === "." || !isObject(v)) continue;
      tidy(v);
      if (Object.keys(v).length === 1 && "." in v) n[k] = {};
    }
  };
  tidy(root);
  return root;
}

export function fromFieldsV1(tree: JsonObject, prefix: string[] = [], out: Set<string> = new Set()): Set<string> {
  for (const [k, v] of Object.entries(tree)) {
    if (k === ".") continue;
    const els = [...prefix, k];
    if (!isObject(v) || Object.keys(v).length === 0 || "." in v) out.add(JSON.stringify(els));
    if (isObject(v)) fromFieldsV1(v, els, out);
  }
  return out;
}
