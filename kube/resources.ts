// What the client knows of Kubernetes objects: their metadata, and where a kind of resource lives in
// the API (its group, version and plural), so one client serves core and custom resources alike.

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [k: string]: unknown;
}

export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

/** A kind of resource: `group` "" is the core API (/api/v1), anything else /apis/<group>/<version>. */
export interface ResourceType {
  group: string;
  version: string;
  /** The plural, lower case, as in the URL: "pods", "networkpolicies". */
  resource: string;
  namespaced: boolean;
}

export const PODS: ResourceType = { group: "", version: "v1", resource: "pods", namespaced: true };
export const NAMESPACES: ResourceType = { group: "", version: "v1", resource: "namespaces", namespaced: false };
export const NETWORK_POLICIES: ResourceType = { group: "networking.k8s.io", version: "v1", resource: "networkpolicies", namespaced: true };
export const CLUSTER_NETWORK_POLICIES: ResourceType = { group: "policy.networking.k8s.io", version: "v1alpha2", resource: "clusternetworkpolicies", namespaced: false };

/** "pods", "networkpolicies.networking.k8s.io": the name RBAC and kubectl use. */
export function resourceName(t: ResourceType): string {
  return t.group ? `${t.resource}.${t.group}` : t.resource;
}

/**
 * The path of a collection or of one object. A namespaced type without a namespace is the collection
 * across all namespaces (list and watch only).
 */
export function resourcePath(t: ResourceType, namespace?: string, name?: string): string {
  const base = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  if (t.namespaced && !namespace && name) throw new Error(`${resourceName(t)} ${name}: a namespaced object needs its namespace`);
  const ns = t.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${base}${ns}/${t.resource}${name ? `/${encodeURIComponent(name)}` : ""}`;
}

/** namespace/name, or name for a cluster-scoped object: the store's key, as client-go's MetaNamespaceKeyFunc. */
export function objectKey(o: KubeObject): string {
  const m = o.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name ?? ""}` : (m.name ?? "");
}
