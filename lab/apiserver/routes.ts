// Reading a request's URL as kube's request-info resolver does: API group and version, namespace,
// resource, name and subresource, and the verb from the method and query.
import { findResource, type ResourceInfo } from "./resources.js";

export interface ResourceRequest {
  resource: ResourceInfo;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

/** `/api/v1/...` or `/apis/<group>/<version>/...` → the resource addressed, or undefined. */
export function parseResourcePath(path: string): ResourceRequest | { group: string; version: string; unknown: string } | undefined {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 3) [group, version, rest] = ["", parts[1] ?? "", parts.slice(2)];
  else if (parts[0] === "apis" && parts.length >= 4) [group, version, rest] = [parts[1] ?? "", parts[2] ?? "", parts.slice(3)];
  else return undefined;
  let namespace: string | undefined;
  // /namespaces/<ns>/<resource>/… is a namespaced resource; /namespaces/<name>[/status] is the namespace itself.
  if (rest[0] === "namespaces" && rest.length >= 3) {
    const inner = findResource(group, version, rest[2] ?? "");
    if (inner?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
  }
  const resource = findResource(group, version, rest[0] ?? "");
  if (!resource || rest.length > 3) return { group, version, unknown: rest[0] ?? "" };
  return { resource, namespace, name: rest[1], subresource: rest[2] };
}
