// The kinds of resource the lab's controllers, its proxy and its CLI read and write, where each lives
// in the API, and a kind's resource by its manifest's `kind` (what `apply -f` needs to send a document).
import type { ResourceType } from "./resources.js";
import { CLUSTER_NETWORK_POLICIES, NAMESPACES, NETWORK_POLICIES, PODS } from "./resources.js";

const core = (resource: string, namespaced = true): ResourceType => ({ group: "", version: "v1", resource, namespaced });

export const SERVICES = core("services");
export const ENDPOINTS = core("endpoints");
export const NODES = core("nodes", false);
export const SECRETS = core("secrets");
export const CONFIG_MAPS = core("configmaps");
export const DEPLOYMENTS: ResourceType = { group: "apps", version: "v1", resource: "deployments", namespaced: true };
export const STATEFUL_SETS: ResourceType = { group: "apps", version: "v1", resource: "statefulsets", namespaced: true };
export const ENDPOINT_SLICES: ResourceType = { group: "discovery.k8s.io", version: "v1", resource: "endpointslices", namespaced: true };
export const INGRESSES: ResourceType = { group: "networking.k8s.io", version: "v1", resource: "ingresses", namespaced: true };
export const INGRESS_CLASSES: ResourceType = { group: "networking.k8s.io", version: "v1", resource: "ingressclasses", namespaced: false };

/** Each kind by its manifest `kind`. */
export const KINDS: Record<string, ResourceType> = {
  Pod: PODS,
  Namespace: NAMESPACES,
  Service: SERVICES,
  Endpoints: ENDPOINTS,
  Node: NODES,
  Secret: SECRETS,
  ConfigMap: CONFIG_MAPS,
  Deployment: DEPLOYMENTS,
  StatefulSet: STATEFUL_SETS,
  EndpointSlice: ENDPOINT_SLICES,
  Ingress: INGRESSES,
  IngressClass: INGRESS_CLASSES,
  NetworkPolicy: NETWORK_POLICIES,
  ClusterNetworkPolicy: CLUSTER_NETWORK_POLICIES,
};

/** The path of an object's subresource ("status", "binding"). */
export function subresourcePath(base: string, subresource: string): string {
  return `${base}/${subresource}`;
}
