// The networking.k8s.io/v1 Ingress objects the lab serves (the fields it acts on), and the TLS Secret.
export interface IngressBackend {
  service?: { name: string; port: { number?: number; name?: string } };
}

export interface Ingress {
  apiVersion?: string;
  kind: "Ingress";
  metadata: { name: string; namespace?: string; annotations?: Record<string, string>; creationTimestamp?: string };
  spec: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    tls?: { hosts?: string[]; secretName?: string }[];
    rules?: { host?: string; http?: { paths: { path?: string; pathType: string; backend: IngressBackend }[] } }[];
  };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

export interface IngressClass {
  kind: "IngressClass";
  metadata: { name: string; annotations?: Record<string, string>; creationTimestamp?: string };
  spec: { controller?: string };
}

export interface Secret {
  kind: "Secret";
  metadata: { name: string; namespace?: string; creationTimestamp?: string };
  type?: string;
  /** base64 values */
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** ingress-nginx's controller name and its annotation for the backend protocol. */
export const NGINX_CONTROLLER = "k8s.io/ingress-nginx";
export const BACKEND_PROTOCOL = "nginx.ingress.kubernetes.io/backend-protocol";
export const DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class";
