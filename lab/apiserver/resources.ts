// The resources the lab's API server serves, as kube-apiserver's registry knows them: where each is
// stored in etcd, whether it is namespaced, its subresources and the names kubectl accepts for it.
export interface ResourceInfo {
  group: string;
  version: string;
  /** Plural, as in the URL and the etcd key. */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** "status" (written only through /status), "binding" (pods). */
  subresources: string[];
  /** Kinds with a strategic-merge table; the others (custom resources in a real cluster) answer 415 to SMP. */
  strategicMerge: boolean;
}

const core = (resource: string, kind: string, o: Partial<ResourceInfo> = {}): ResourceInfo => ({ group: "", version: "v1", resource, singular: kind.toLowerCase(), kind, namespaced: true, shortNames: [], categories: [], subresources: [], strategicMerge: true, ...o });
const inGroup = (group: string, version: string) => (resource: string, kind: string, o: Partial<ResourceInfo> = {}): ResourceInfo => ({ ...core(resource, kind, o), group, version, ...o });
const apps = inGroup("apps", "v1");
const discovery = inGroup("discovery.k8s.io", "v1");
const networking = inGroup("networking.k8s.io", "v1");
const policy = inGroup("policy.networking.k8s.io", "v1alpha2");

export const RESOURCES: ResourceInfo[] = [
  core("namespaces", "Namespace", { namespaced: false, shortNames: ["ns"], subresources: ["status"] }),
  core("pods", "Pod", { shortNames: ["po"], categories: ["all"], subresources: ["status", "binding"] }),
  core("services", "Service", { shortNames: ["svc"], categories: ["all"], subresources: ["status"] }),
  core("endpoints", "Endpoints", { singular: "endpoints", shortNames: ["ep"] }),
  core("nodes", "Node", { namespaced: false, shortNames: ["no"], subresources: ["status"] }),
  core("secrets", "Secret"),
  core("configmaps", "ConfigMap", { shortNames: ["cm"] }),
  apps("deployments", "Deployment", { shortNames: ["deploy"], categories: ["all"], subresources: ["status"] }),
  apps("statefulsets", "StatefulSet", { shortNames: ["sts"], categories: ["all"], subresources: ["status"] }),
  discovery("endpointslices", "EndpointSlice"),
  networking("ingresses", "Ingress", { shortNames: ["ing"], subresources: ["status"] }),
  networking("ingressclasses", "IngressClass", { namespaced: false }),
  networking("networkpolicies", "NetworkPolicy", { shortNames: ["netpol"] }),
  policy("clusternetworkpolicies", "ClusterNetworkPolicy", { namespaced: false, shortNames: ["cnp"], subresources: ["status"], strategicMerge: false }),
];

export const apiVersionOf = (r: ResourceInfo): string => (r.group ? `${r.group}/${r.version}` : r.version);
/** kube's "group resource" as its messages print it: `pods`, `deployments.apps`. */
export const qualifiedResource = (r: ResourceInfo): string => (r.group ? `${r.resource}.${r.group}` : r.resource);

export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

export function resourceOfKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

/** The group versions served, in discovery's order (the core group first). */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES) seen.set(apiVersionOf(r), { group: r.group, version: r.version });
  return [...seen.values()];
}

/** etcd layout as kube-apiserver's: /registry/<group or nothing for core>/<resource>/<namespace>/<name>. */
export function etcdPrefix(r: ResourceInfo, namespace?: string): string {
  const base = `/registry/${r.group ? `${r.group}/` : ""}${r.resource}/`;
  return r.namespaced && namespace ? `${base}${namespace}/` : base;
}

export function etcdKey(r: ResourceInfo, namespace: string | undefined, name: string): string {
  return `${etcdPrefix(r, r.namespaced ? namespace : undefined)}${name}`;
}

export const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
