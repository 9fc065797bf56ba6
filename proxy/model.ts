// The slice of the Kubernetes API that a service proxy and cluster DNS read: Services, EndpointSlices,
// Pods and Nodes, in the API's own JSON shape (so objects from a real API server or the lab's store
// are read the same way).
export type Protocol = "TCP" | "UDP" | "SCTP";

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
}

export interface ServicePort {
  name?: string;
  protocol?: Protocol;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export interface Service {
  apiVersion?: "v1";
  kind?: "Service";
  metadata: ObjectMeta;
  spec: {
    type?: "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";
    clusterIP?: string;
    clusterIPs?: string[];
    ports?: ServicePort[];
    selector?: Record<string, string>;
    sessionAffinity?: "None" | "ClientIP";
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
    externalTrafficPolicy?: "Cluster" | "Local";
    internalTrafficPolicy?: "Cluster" | "Local";
    externalName?: string;
    publishNotReadyAddresses?: boolean;
    loadBalancerIP?: string;
  };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

export interface Endpoint {
  addresses: string[];
  conditions: { ready?: boolean; serving?: boolean; terminating?: boolean };
  hostname?: string;
  nodeName?: string;
  targetRef?: { kind: string; name: string; namespace?: string };
}

export interface EndpointSlice {
  apiVersion?: "discovery.k8s.io/v1";
  kind?: "EndpointSlice";
  metadata: ObjectMeta;
  addressType: "IPv4" | "IPv6" | "FQDN";
  endpoints: Endpoint[];
  ports: { name?: string; port: number; protocol?: Protocol; appProtocol?: string }[];
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: Protocol;
  hostPort?: number;
}

export interface Pod {
  apiVersion?: "v1";
  kind?: "Pod";
  metadata: ObjectMeta;
  spec: {
    nodeName?: string;
    hostname?: string;
    subdomain?: string;
    containers: { name: string; image?: string; ports?: ContainerPort[]; args?: string[]; command?: string[]; lifecycle?: { preStop?: { sleep?: { seconds: number } } } }[];
  };
  status?: { podIP?: string; phase?: string; hostIP?: string; conditions?: { type: string; status: "True" | "False" }[] };
}

export interface Node {
  apiVersion?: "v1";
  kind?: "Node";
  metadata: ObjectMeta;
  spec: { podCIDR?: string };
  status: { addresses: { type: "InternalIP" | "Hostname"; address: string }[] };
}

/** What the proxy and DNS watch: the cluster's objects at one moment. */
export interface ClusterState {
  services: Service[];
  endpointSlices: EndpointSlice[];
  pods: Pod[];
  nodes: Node[];
}

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const nsOf = (m: ObjectMeta): string => m.namespace ?? "default";
export const isHeadless = (s: Service): boolean => s.spec.clusterIP === "None";
export const nodeInternalIp = (n: Node): string | undefined => n.status.addresses.find((a) => a.type === "InternalIP")?.address;
