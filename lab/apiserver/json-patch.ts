// JSON patch (RFC 6902) and JSON merge patch (RFC 7386), the two patch types every object takes.
import { ApiError } from "./errors.js";
import { clone, isObject, jsonEqual, type JsonObject } from "./objects.js";

const unprocessable = (message: string): ApiError => new ApiError(422, "Invalid", message);

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const unescape = (s: string): string => s.replace(/~1/g, "/").replace(/~0/g, "~");

function parent(doc: unknown, pointer: string): { container: unknown; key: string } {
  const parts = pointer.split("/").slice(1).map(unescape);
  const key = parts.pop();
  if (key === undefined) throw unprocessable(`jsonpatch: invalid path "${pointer}"`);
  let container: unknown = doc;
  for (const p of parts) {
    container = Array.isArray(container) ? container[Number(p)] : isObject(container) ? container[p] : undefined;
    if (container === undefined) throw unprocessable(`the server rejected our request due to an error in our request: doc is missing path: "${pointer}"`);
  }
  return { container, key };
}

function read(doc: unknown, pointer: string): unknown {
  if (pointer === "") return doc;
  const { container, key } = parent(doc, pointer);
  const v = Array.isArray(container) ? container[Number(key)] : isObject(container) ? container[key] : undefined;
  if (v === undefined) throw unprocessable(`doc is missing path: "${pointer}": missing value`);
  return v;
}

function remove(doc: unknown, pointer: string): unknown {
  const { container, key } = parent(doc, pointer);
  const v = read(doc, pointer);
  if (Array.isArray(container)) container.splice(Number(key), 1);
  else if (isObject(container)) delete container[key];
  return v;
}

function add(doc: unknown, pointer: string, value: unknown, replace: boolean): void {
  const { container, key } = parent(doc, pointer);
  if (Array.isArray(container)) {
    const i = key === "-" ? container.length : Number(key);
    if (!(i >= 0 && i <= container.length)) throw unprocessable(`add operation does not apply: doc is missing path: "${pointer}"`);
    if (replace) container[i] = value;
    else container.splice(i, 0, value);
  } else if (isObject(container)) {
    if (replace && !(key in container)) throw unprocessable(`replace operation does not apply: doc is missing key: ${pointer}: missing value`);
    container[key] = value;
  } else throw unprocessable(`doc is missing path: "${pointer}"`);
}

export function jsonPatch(target: JsonObject, ops: unknown): JsonObject {
  if (!Array.isArray(ops)) throw new ApiError(400, "BadRequest", "json: cannot unmarshal object into Go value of type jsonpatch.Patch");
  const doc = clone(target);
  for (const op of ops) {
    if (!isObject(op) || typeof op.path !== "string") throw unprocessable("the server rejected our request due to an error in our request");
    switch (op.op) {
      case "add": add(doc, op.path, clone(op.value), false); break;
      case "replace": add(doc, op.path, clone(op.value), true); break;
      case "remove": remove(doc, op.path); break;
      case "move": add(doc, op.path, remove(doc, String(op.from)), false); break;
      case "copy": add(doc, op.path, clone(read(doc, String(op.from))), false); break;
      case "test":
        if (!jsonEqual(read(doc, op.path), op.value)) throw unprocessable(`the server rejected our request due to an error in our request: testing value ${op.path} failed: test failed`);
        break;
      default: throw unprocessable(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return doc;
}
