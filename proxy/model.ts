// The slice of the Kubernetes API that a service proxy and cluster DNS read: Services, EndpointSlices,
// Pods and Nodes, in the API's own JSON shape (so objects from a real API server or the lab's store
// are read the same way).
export type Protocol = "TCP" | "UDP" | "SCTP";
export type IpFamily = "IPv4" | "IPv6";
export type IpFamilyPolicy = "SingleStack" | "PreferDualStack" | "RequireDualStack";

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  /** Set when the object is being deleted (a pod still stopping): it no longer counts as ready. */
  deletionTimestamp?: string;
  resourceVersion?: string;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
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
    /** One per family in ipFamilies' order; clusterIPs[0] is clusterIP. */
    clusterIPs?: string[];
    ipFamilies?: IpFamily[];
    ipFamilyPolicy?: IpFamilyPolicy;
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
    /** The pod shares its node's network namespace and addresses (no CNI). */
    hostNetwork?: boolean;
    terminationGracePeriodSeconds?: number;
    subdomain?: string;
    containers: { name: string; image?: string; ports?: ContainerPort[]; args?: string[]; command?: string[]; lifecycle?: { preStop?: { sleep?: { seconds: number } } } }[];
  };
  /** podIPs: one per family, podIPs[0] is podIP. */
  status?: { podIP?: string; podIPs?: { ip: string }[]; phase?: string; hostIP?: string; hostIPs?: { ip: string }[]; startTime?: string; message?: string; reason?: string; conditions?: { type: string; status: "True" | "False"; lastTransitionTime?: string }[]; containerStatuses?: { name: string; ready: boolean; restartCount: number; started?: boolean; image?: string; imageID?: string; state: Record<string, object> }[] };
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
export const ipFamilyOf = (ip: string): IpFamily => (ip.includes(":") ? "IPv6" : "IPv4");
/** The node's first InternalIP, or its first of `family`: a dual-stack node lists one of each. */
/** A Node just registered may have no status yet (its kubelet writes it next): no address then. */
export const nodeInternalIp = (n: Node, family?: IpFamily): string | undefined => n.status?.addresses?.find((a) => a.type === "InternalIP" && (!family || ipFamilyOf(a.address) === family))?.address;
/** Every address of the pod, one per family (podIPs; podIP alone in objects from before dual-stack). */
export const podIps = (p: Pod): string[] => p.status?.podIPs?.map((x) => x.ip) ?? (p.status?.podIP ? [p.status.podIP] : []);
/** The Service's cluster IP of `family`, if it has one. */
export const clusterIpOf = (s: Service, family: IpFamily): string | undefined => (s.spec.clusterIPs ?? (s.spec.clusterIP ? [s.spec.clusterIP] : [])).find((ip) => ip !== "None" && ipFamilyOf(ip) === family);
