// The EndpointSlice controller as a pure function: each Service's selector over the pods gives its
// endpoints (ready pods only unless publishNotReadyAddresses), named target ports resolved per pod;
// pods whose ports resolve differently go to separate slices, as Kubernetes does; one set of slices per
// IP family of the Service, each with the pods' addresses of that family.
import { createHash } from "node:crypto";
import { ipFamilyOf, nsOf, podIps, SERVICE_NAME_LABEL, type EndpointSlice, type IpFamily, type Pod, type Service } from "../../proxy/model.js";

/** The ready addresses behind a Service (by name), from its EndpointSlices; readiness unknown counts as ready. */
export function readyAddresses(slices: EndpointSlice[], service: string): string[] {
  return slices
    .filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === service)
    .flatMap((s) => s.endpoints.filter((e) => e.conditions.ready !== false).flatMap((e) => e.addresses))
    .sort();
}

/** Ready, and not being deleted: a terminating pod leaves its Services' ready endpoints at once. */
export const isReady = (p: Pod): boolean => !p.metadata.deletionTimestamp && (p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false);

function selects(svc: Service, pod: Pod): boolean {
  const sel = svc.spec.selector;
  if (!sel || Object.keys(sel).length === 0) return false;
  return nsOf(pod.metadata) === nsOf(svc.metadata) && Object.entries(sel).every(([k, v]) => pod.metadata.labels?.[k] === v);
}

/** The slice's ports for `pod`, or undefined when a named target port is not among its containers' ports. */
function resolvePorts(svc: Service, pod: Pod): EndpointSlice["ports"] | undefined {
  const out: EndpointSlice["ports"] = [];
  for (const sp of svc.spec.ports ?? []) {
    const target = sp.targetPort ?? sp.port;
    let port: number | undefined = typeof target === "number" ? target : undefined;
    if (typeof target === "string") port = pod.spec.containers.flatMap((c) => c.ports ?? []).find((cp) => cp.name === target && (cp.protocol ?? "TCP") === (sp.protocol ?? "TCP"))?.containerPort;
    if (port === undefined) continue; // Kubernetes leaves such a pod out of this port
    out.push({ ...(sp.name ? { name: sp.name } : {}), port, protocol: sp.protocol ?? "TCP", ...(sp.appProtocol ? { appProtocol: sp.appProtocol } : {}) });
  }
  return out.length ? out : undefined;
}

/** Slice names as the controller makes them: an IPv4 slice keeps the name it had before dual-stack. */
const sliceName = (svc: Service, family: IpFamily, portsKey: string): string => `${svc.metadata.name}-${createHash("sha256").update(`${nsOf(svc.metadata)}/${svc.metadata.name}${portsKey}${family === "IPv6" ? "/IPv6" : ""}`).digest("hex").slice(0, 5)}`;

function slicesOfFamily(svc: Service, pods: Pod[], family: IpFamily): EndpointSlice[] {
  const slice = (portsKey: string, ports: EndpointSlice["ports"]): EndpointSlice => ({ apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: sliceName(svc, family, portsKey), namespace: nsOf(svc.metadata), labels: { [SERVICE_NAME_LABEL]: svc.metadata.name } }, addressType: family, endpoints: [], ports });
  const groups = new Map<string, EndpointSlice>();
  for (const pod of pods) {
    const address = podIps(pod).find((ip) => ipFamilyOf(ip) === family);
    if (!selects(svc, pod) || !address) continue;
    const ready = isReady(pod);
    if (!ready && !svc.spec.publishNotReadyAddresses) continue;
    const ports = resolvePorts(svc, pod);
    if (!ports) continue;
    const portsKey = JSON.stringify(ports);
    const group = groups.get(portsKey) ?? slice(portsKey, ports);
    groups.set(portsKey, group);
    const hostname = pod.spec.hostname && pod.spec.subdomain === svc.metadata.name ? pod.spec.hostname : undefined;
    group.endpoints.push({
      addresses: [address],
      conditions: { ready: ready || Boolean(svc.spec.publishNotReadyAddresses), serving: ready, terminating: false },
      ...(hostname ? { hostname } : {}),
      ...(pod.spec.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      targetRef: { kind: "Pod", name: pod.metadata.name, namespace: nsOf(pod.metadata) },
    });
  }
  // A service with a selector and no endpoints still has one (empty) slice, as kubectl shows it.
  if (groups.size === 0) groups.set("", slice("", []));
  for (const s of groups.values()) s.endpoints.sort((a, b) => ((a.addresses[0] ?? "") < (b.addresses[0] ?? "") ? -1 : 1));
  return [...groups.values()];
}

export function endpointSlicesFor(services: Service[], pods: Pod[]): EndpointSlice[] {
  return services
    .filter((svc) => (svc.spec.type ?? "ClusterIP") !== "ExternalName" && svc.spec.selector)
    .flatMap((svc) => (svc.spec.ipFamilies ?? ["IPv4"]).flatMap((family) => slicesOfFamily(svc, pods, family)));
}
