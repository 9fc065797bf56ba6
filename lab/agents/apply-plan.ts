// What `weft-lab apply` and `delete` will do, decided before anything changes: services with their
// allocated addresses, workloads, and the pods to create and delete. Pure, so a bad document or an
// allocation conflict stops the whole apply with nothing half-done.
import { createHash } from "node:crypto";
import { clusterIpOf, ipFamilyOf, nsOf, type Pod, type Service } from "../../proxy/model.js";
import { allocateClusterIp, allocateLoadBalancerIp, allocateNodePort, AllocationError } from "../apiserver/allocators.js";
import { lbPoolOf, type ApiState } from "../apiserver/api-store.js";
import { cidrsByFamily } from "../apiserver/ip-family.js";
import { serviceFamilies } from "../apiserver/service-families.js";
import type { Ingress, IngressClass, Secret } from "../apiserver/ingress-model.js";
import type { Manifest, Workload } from "../apiserver/manifests.js";

/** Objects the lab only stores for whoever reads them (the ingress controller): no pods, no addresses. */
export type ConfigObject = Ingress | IngressClass | Secret;
const CONFIG_KINDS = { Ingress: { field: "ingresses", resource: "ingress.networking.k8s.io", plural: "ingresses.networking.k8s.io" }, IngressClass: { field: "ingressClasses", resource: "ingressclass.networking.k8s.io", plural: "ingressclasses.networking.k8s.io" }, Secret: { field: "secrets", resource: "secret", plural: "secrets" } } as const;
export const configField = (kind: ConfigObject["kind"]): "ingresses" | "ingressClasses" | "secrets" => CONFIG_KINDS[kind].field;
/** IngressClass is cluster-scoped: no namespace in its key. */
export const configKey = (o: ConfigObject): string => `${o.kind}/${o.kind === "IngressClass" ? "" : (o.metadata as { namespace?: string }).namespace ?? "default"}/${o.metadata.name}`;
const isConfig = (m: Manifest): m is Extract<Manifest, { kind: ConfigObject["kind"] }> => m.kind in CONFIG_KINDS;
const storedConfig = (api: ApiState, kind: ConfigObject["kind"]): ConfigObject[] => (api[configField(kind)] ?? []) as ConfigObject[];

export const OWNER = "lab.weft.dev/owner";
export const TEMPLATE_HASH = "pod-template-hash";

export interface Plan {
  services: Service[];
  workloads: Workload[];
  createPods: Pod[];
  deletePods: string[];
  deleteServices: string[];
  deleteWorkloads: string[];
  objects: ConfigObject[];
  /** configKey()s */
  deleteObjects: string[];
  /** kubectl's lines: "service/x created", "deployment.apps/y configured", … */
  report: string[];
}

const key = (m: { name: string; namespace?: string }): string => `${m.namespace ?? "default"}/${m.name}`;
const withNs = <T extends { metadata: { namespace?: string } }>(o: T): T => ({ ...o, metadata: { ...o.metadata, namespace: nsOf(o.metadata as never) } });
const resourceName = (kind: string): string => (kind === "Deployment" || kind === "StatefulSet" ? `${kind.toLowerCase()}.apps` : kind.toLowerCase());
const stable = (o: unknown): string => JSON.stringify(o, (_k, v: unknown) => (v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));
const shortHash = (s: string, n: number): string => createHash("sha256").update(s).digest("hex").slice(0, n);
const SUFFIX = "bcdfghjklmnpqrstvwxz2456789";

function podsOf(w: Workload, ownerKey: string, random: () => number): { hash: string; make: (i: number) => Pod } {
  const hash = shortHash(stable(w.spec.template), 10);
  return {
    hash,
    make: (i) => {
      const name = w.kind === "StatefulSet" ? `${w.metadata.name}-${i}` : `${w.metadata.name}-${hash}-${Array.from({ length: 5 }, () => SUFFIX[Math.floor(random() * SUFFIX.length)]).join("")}`;
      const spec: Pod["spec"] = { ...w.spec.template.spec, ...(w.kind === "StatefulSet" ? { hostname: name, ...(w.spec.serviceName ? { subdomain: w.spec.serviceName } : {}) } : {}) };
      return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: w.metadata.namespace ?? "default", labels: { ...(w.spec.template.metadata?.labels ?? {}), [TEMPLATE_HASH]: hash }, annotations: { [OWNER]: ownerKey } }, spec, status: { phase: "Pending" } };
    },
  };
}

function planService(api: ApiState, svc: Service, report: string[], lbTaken: Set<string>, random: () => number): Service {
  const s = withNs(svc);
  const old = api.services.find((x) => key(x.metadata) === key(s.metadata));
  const others = api.services.filter((x) => x !== old);
  const type = s.spec.type ?? "ClusterIP";
  const out: Service = { apiVersion: "v1", kind: "Service", metadata: { ...s.metadata, uid: old?.metadata.uid ?? shortHash(`${key(s.metadata)}${random()}`, 32), creationTimestamp: old?.metadata.creationTimestamp ?? new Date().toISOString() }, spec: { ...s.spec, type } };
  try {
    if (type !== "ExternalName") {
      const cidrs = cidrsByFamily(api.serviceCidr);
      const { policy, families } = serviceFamilies(s.spec, old?.spec, [...cidrs.keys()]);
      Object.assign(out.spec, { ipFamilyPolicy: policy, ipFamilies: families });
      if (old && old.spec.clusterIP && s.spec.clusterIP && s.spec.clusterIP !== old.spec.clusterIP) throw new AllocationError(`spec.clusterIP: Invalid value: "${s.spec.clusterIP}": field is immutable`);
      if (s.spec.clusterIP === "None") out.spec.clusterIPs = [(out.spec.clusterIP = "None")];
      else {
        const used = new Set(others.flatMap((x) => x.spec.clusterIPs ?? [x.spec.clusterIP ?? ""]));
        const given = s.spec.clusterIPs ?? (s.spec.clusterIP ? [s.spec.clusterIP] : []);
        // An address the Service already has stays; a family it gains gets one from that family's range.
        out.spec.clusterIPs = families.map((f, i) => (old && clusterIpOf(old, f)) || allocateClusterIp(cidrs.get(f) ?? "", used, given[i], i === 0 ? "spec.clusterIP" : `spec.clusterIPs[${i}]`, random));
        out.spec.clusterIP = out.spec.clusterIPs[0];
        if (old?.spec.clusterIP && old.spec.clusterIP !== "None" && out.spec.clusterIP !== old.spec.clusterIP) throw new AllocationError(`spec.clusterIPs[0]: Invalid value: "${out.spec.clusterIP}": may not change once set (${old.spec.clusterIP})`);
      }
      const usedPorts = new Set(others.flatMap((x) => (x.spec.ports ?? []).map((p) => p.nodePort ?? 0)));
      out.spec.ports = (s.spec.ports ?? []).map((p, i) => {
        const prev = old?.spec.ports?.find((q) => q.port === p.port && (q.protocol ?? "TCP") === (p.protocol ?? "TCP"));
        const port = { ...p, protocol: p.protocol ?? "TCP", targetPort: p.targetPort ?? p.port };
        if (type === "ClusterIP") return port;
        const nodePort = p.nodePort ?? prev?.nodePort;
        const allocated = allocateNodePort(usedPorts, nodePort, `spec.ports[${i}].nodePort`, random);
        usedPorts.add(allocated);
        return { ...port, nodePort: allocated };
      });
      if (type === "LoadBalancer") {
        // MetalLB's way: one address per family of the Service, each from its family's pool.
        const held = old?.status?.loadBalancer?.ingress?.map((i) => i.ip ?? "") ?? [];
        const ingress = families.flatMap((f) => {
          const pool = lbPoolOf(api, f);
          const requested = s.spec.loadBalancerIP && ipFamilyOf(s.spec.loadBalancerIP) === f ? s.spec.loadBalancerIP : undefined;
          const ip = held.find((x) => x && ipFamilyOf(x) === f) ?? (pool && allocateLoadBalancerIp(pool, lbTaken, requested));
          if (ip) lbTaken.add(ip);
          return ip ? [{ ip }] : [];
        });
        out.status = { loadBalancer: { ingress } };
      } else out.status = { loadBalancer: {} };
    }
  } catch (err) {
    if (err instanceof AllocationError) throw new AllocationError(`Service "${s.metadata.name}" is invalid: ${err.message}`);
    throw err;
  }
  const same = old && stable({ spec: old.spec, labels: old.metadata.labels }) === stable({ spec: out.spec, labels: out.metadata.labels });
  report.push(`service/${s.metadata.name} ${!old ? "created" : same ? "unchanged" : "configured"}`);
  return out;
}

export function planApply(api: ApiState, manifests: Manifest[], random = Math.random): Plan {
  const plan = emptyPlan();
  const lbTaken = new Set(api.services.flatMap((s) => (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? "")));
  for (const m of manifests) {
    if (isConfig(m)) {
      const given = (m.kind === "IngressClass" ? m.obj : withNs(m.obj as Ingress | Secret)) as ConfigObject;
      const old = storedConfig(api, m.kind).find((x) => configKey(x) === configKey(given));
      const created = old?.metadata.creationTimestamp ?? new Date().toISOString();
      const o = { ...given, metadata: { ...given.metadata, creationTimestamp: created } } as ConfigObject;
      plan.objects.push(o);
      plan.report.push(`${CONFIG_KINDS[m.kind].resource}/${o.metadata.name} ${!old ? "created" : stable(old) === stable(o) ? "unchanged" : "configured"}`);
    } else if (m.kind === "Service") {
      const svc = planService({ ...api, services: api.services.filter((s) => !plan.services.some((p) => key(p.metadata) === key(s.metadata))).concat(plan.services) }, m.obj, plan.report, lbTaken, random);
      plan.services.push(svc);
    } else if (m.kind === "Pod") {
      const pod = withNs(m.obj);
      const exists = api.pods.some((p) => key(p.metadata) === key(pod.metadata));
      // Pods are immutable in what the lab models: an existing pod is left as it is.
      if (!exists) plan.createPods.push({ ...pod, apiVersion: "v1", kind: "Pod", status: { phase: "Pending" } });
      plan.report.push(`pod/${pod.metadata.name} ${exists ? "unchanged" : "created"}`);
    } else {
      const w = withNs(m.obj);
      const ownerKey = `${w.kind}/${key(w.metadata)}`;
      const existing = api.pods.filter((p) => p.metadata.annotations?.[OWNER] === ownerKey);
      const { hash, make } = podsOf(w, ownerKey, random);
      const replicas = w.spec.replicas ?? 1;
      const current = existing.filter((p) => p.metadata.labels?.[TEMPLATE_HASH] === hash);
      const stale = existing.filter((p) => p.metadata.labels?.[TEMPLATE_HASH] !== hash);
      plan.deletePods.push(...stale.map((p) => key(p.metadata)));
      if (w.kind === "StatefulSet") {
        const names = new Set(current.map((p) => p.metadata.name));
        for (let i = 0; i < replicas; i++) if (!names.has(`${w.metadata.name}-${i}`)) plan.createPods.push(make(i));
        plan.deletePods.push(...current.filter((p) => Number(p.metadata.name.slice(w.metadata.name.length + 1)) >= replicas).map((p) => key(p.metadata)));
      } else {
        for (let i = current.length; i < replicas; i++) plan.createPods.push(make(i));
        plan.deletePods.push(...current.slice(replicas).map((p) => key(p.metadata)));
      }
      const old = api.workloads.find((x) => x.kind === w.kind && key(x.metadata) === key(w.metadata));
      plan.workloads.push(w);
      plan.report.push(`${resourceName(w.kind)}/${w.metadata.name} ${!old ? "created" : stable(old.spec) === stable(w.spec) ? "unchanged" : "configured"}`);
    }
  }
  return plan;
}

const emptyPlan = (): Plan => ({ services: [], workloads: [], createPods: [], deletePods: [], deleteServices: [], deleteWorkloads: [], objects: [], deleteObjects: [], report: [] });

export function planDelete(api: ApiState, manifests: Manifest[]): Plan {
  const plan = emptyPlan();
  for (const m of manifests) {
    if (isConfig(m)) {
      const k = configKey(m.kind === "IngressClass" ? m.obj : withNs(m.obj as Ingress | Secret));
      if (!storedConfig(api, m.kind).some((x) => configKey(x) === k)) throw new Error(`Error from server (NotFound): ${CONFIG_KINDS[m.kind].plural} "${m.obj.metadata.name}" not found`);
      plan.deleteObjects.push(k);
      plan.report.push(`${CONFIG_KINDS[m.kind].resource} "${m.obj.metadata.name}" deleted`);
      continue;
    }
    const k = key(withNs(m.obj as { metadata: { name: string; namespace?: string } }).metadata);
    const name = (m.obj as { metadata: { name: string } }).metadata.name;
    if (m.kind === "Service") {
      if (!api.services.some((s) => key(s.metadata) === k)) throw new Error(`Error from server (NotFound): services "${name}" not found`);
      plan.deleteServices.push(k);
      plan.report.push(`service "${name}" deleted`);
    } else if (m.kind === "Pod") {
      if (!api.pods.some((p) => key(p.metadata) === k)) throw new Error(`Error from server (NotFound): pods "${name}" not found`);
      plan.deletePods.push(k);
      plan.report.push(`pod "${name}" deleted`);
    } else {
      if (!api.workloads.some((w) => w.kind === m.kind && key(w.metadata) === k)) throw new Error(`Error from server (NotFound): ${resourceName(m.kind)} "${name}" not found`);
      plan.deleteWorkloads.push(`${m.kind}/${k}`);
      plan.deletePods.push(...api.pods.filter((p) => p.metadata.annotations?.[OWNER] === `${m.kind}/${k}`).map((p) => key(p.metadata)));
      plan.report.push(`${resourceName(m.kind)} "${name}" deleted`);
    }
  }
  return plan;
}

export const podKey = key;
