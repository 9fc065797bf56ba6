// The upstream NetworkPolicy suite's model (kubernetes test/e2e/network/netpol/model.go), as the lab
// builds it through its API: namespaces x, y, z labelled ns=<name>; pods a, b, c in each labelled
// pod=<name>, one agnhost container per port and protocol (serve-hostname for TCP and UDP, porter for
// SCTP) under the named ports serve-<port>-<protocol>; a Service s-<ns>-<pod> per pod. Pure: manifests only.
import type { Manifest } from "../apiserver/manifests.js";
import type { Pod, Service } from "../../proxy/model.js";

export const NETPOL_NAMESPACES = ["x", "y", "z"] as const;
export const NETPOL_PODS = ["a", "b", "c"] as const;
/** The ports every model pod serves, each over every protocol of SERVED_PROTOCOLS. */
export const SERVED_PORTS = [80, 81] as const;
export const SERVED_PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;
export type NetpolProtocol = (typeof SERVED_PROTOCOLS)[number];
export const AGNHOST_IMAGE = "registry.k8s.io/e2e-test-images/agnhost:2.53";

/** "x/a", … in the upstream order: namespaces, then pods. */
export const MODEL_PODS: string[] = NETPOL_NAMESPACES.flatMap((ns) => NETPOL_PODS.map((p) => `${ns}/${p}`));

export const serviceName = (ns: string, pod: string): string => `s-${ns}-${pod}`;
export const portName = (port: number, protocol: NetpolProtocol): string => `serve-${port}-${protocol.toLowerCase()}`;

/** The container for one port and protocol, as the upstream Container.Spec(), with the subcommand in args. */
function container(port: number, protocol: NetpolProtocol): Pod["spec"]["containers"][number] & { env?: { name: string; value: string }[] } {
  const args = protocol === "SCTP" ? ["porter"] : ["serve-hostname", protocol === "TCP" ? "--tcp" : "--udp", "--http=false", "--port", String(port)];
  return {
    name: `cont-${port}-${protocol.toLowerCase()}`,
    image: AGNHOST_IMAGE,
    args,
    ...(protocol === "SCTP" ? { env: [{ name: `SERVE_SCTP_PORT_${port}`, value: "foo" }] } : {}),
    ports: [{ containerPort: port, name: portName(port, protocol), protocol }],
  };
}

function pod(ns: string, name: string): Pod {
  const containers = SERVED_PORTS.flatMap((port) => SERVED_PROTOCOLS.map((protocol) => container(port, protocol)));
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: ns, labels: { pod: name } }, spec: { terminationGracePeriodSeconds: 0, containers } } as Pod;
}

function service(ns: string, name: string): Service {
  const ports = SERVED_PORTS.flatMap((port) => SERVED_PROTOCOLS.map((protocol) => ({ name: `service-port-${protocol.toLowerCase()}-${port}`, protocol, port, targetPort: port })));
  return { apiVersion: "v1", kind: "Service", metadata: { name: serviceName(ns, name), namespace: ns }, spec: { selector: { pod: name }, ports } } as unknown as Service;
}

export function modelManifests(): Manifest[] {
  return NETPOL_NAMESPACES.flatMap((ns): Manifest[] => [
    { kind: "Namespace", obj: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { ns } } } },
    ...NETPOL_PODS.flatMap((p): Manifest[] => [
      { kind: "Pod", obj: pod(ns, p) },
      { kind: "Service", obj: service(ns, p) },
    ]),
  ]);
}
