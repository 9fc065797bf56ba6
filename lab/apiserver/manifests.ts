// Reads Kubernetes manifests for `weft-lab apply`: YAML (several documents per file), checked against
// the Kubernetes schemas and the API server's own rules for the fields the lab models. A field the
// lab does not model is named in a warning; an invalid document is an error naming the document, the
// field and the value, before anything is changed.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { Namespace as NamespaceModel, Pod as PodModel, Secret as SecretModel, Service as ServiceModel } from "kubernetes-models/v1";
import { Deployment as DeploymentModel, StatefulSet as StatefulSetModel } from "kubernetes-models/apps/v1";
import { Ingress as IngressModel, IngressClass as IngressClassModel } from "kubernetes-models/networking.k8s.io/v1";
import type { Pod, Service } from "../../proxy/model.js";
import type { Ingress, IngressClass, Secret } from "./ingress-model.js";

export interface Workload {
  kind: "Deployment" | "StatefulSet";
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: { replicas?: number; serviceName?: string; selector: { matchLabels?: Record<string, string> }; template: { metadata?: { labels?: Record<string, string> }; spec: Pod["spec"] } };
}
export type Manifest = { kind: "Namespace"; obj: { apiVersion?: string; kind: "Namespace"; metadata: { name: string; labels?: Record<string, string> } } } | { kind: "Pod"; obj: Pod } | { kind: "Service"; obj: Service } | { kind: "Deployment" | "StatefulSet"; obj: Workload } | { kind: "Ingress"; obj: Ingress } | { kind: "IngressClass"; obj: IngressClass } | { kind: "Secret"; obj: Secret };

export class ManifestError extends Error {}

interface Doc {
  source: string;
  index: number;
  body: Record<string, unknown>;
}

const KINDS: Record<string, { apiVersion: string; validate: (o: unknown) => void }> = {
  Namespace: { apiVersion: "v1", validate: (o) => new NamespaceModel(o as never).validate() },
  Pod: { apiVersion: "v1", validate: (o) => new PodModel(o as never).validate() },
  Service: { apiVersion: "v1", validate: (o) => new ServiceModel(o as never).validate() },
  Deployment: { apiVersion: "apps/v1", validate: (o) => new DeploymentModel(o as never).validate() },
  StatefulSet: { apiVersion: "apps/v1", validate: (o) => new StatefulSetModel(o as never).validate() },
  Ingress: { apiVersion: "networking.k8s.io/v1", validate: (o) => new IngressModel(o as never).validate() },
  IngressClass: { apiVersion: "networking.k8s.io/v1", validate: (o) => new IngressClassModel(o as never).validate() },
  Secret: { apiVersion: "v1", validate: (o) => new SecretModel(o as never).validate() },
};

/** The fields the lab acts on, per kind; anything else is reported as ignored. "*" matches any key, "[]" any item. */
const POD_SPEC = ["nodeName", "hostname", "subdomain", "containers[].name", "containers[].image", "containers[].args[]", "containers[].command[]", "containers[].ports[].name", "containers[].ports[].containerPort", "containers[].ports[].protocol", "containers[].ports[].hostPort", "containers[].imagePullPolicy", "containers[].lifecycle.preStop.sleep.seconds", "restartPolicy", "terminationGracePeriodSeconds"];
const META = ["apiVersion", "kind", "metadata.name", "metadata.namespace", "metadata.labels.*", "metadata.annotations.*"];
const TEMPLATE = ["spec.selector.matchLabels.*", "spec.replicas", "spec.template.metadata.labels.*", "spec.template.metadata.annotations.*", ...POD_SPEC.map((f) => `spec.template.spec.${f}`)];
const SUPPORTED: Record<string, string[]> = {
  Namespace: [...META, "spec.*", "status.*"],
  Pod: [...META, ...POD_SPEC.map((f) => `spec.${f}`), "status.*"],
  Deployment: [...META, ...TEMPLATE, "spec.strategy.type", "spec.revisionHistoryLimit", "status.*"],
  StatefulSet: [...META, ...TEMPLATE, "spec.serviceName", "spec.podManagementPolicy", "status.*"],
  Ingress: [...META, "spec.ingressClassName", "spec.defaultBackend.service.*", "spec.tls[].hosts[]", "spec.tls[].secretName", "spec.rules[].host", "spec.rules[].http.paths[].path", "spec.rules[].http.paths[].pathType", "spec.rules[].http.paths[].backend.service.*", "status.*"],
  IngressClass: [...META, "spec.controller"],
  Secret: [...META, "type", "data.*", "stringData.*"],
  Service: [...META, "spec.type", "spec.clusterIP", "spec.clusterIPs[]", "spec.ports[].name", "spec.ports[].protocol", "spec.ports[].port", "spec.ports[].targetPort", "spec.ports[].nodePort", "spec.ports[].appProtocol", "spec.selector.*", "spec.sessionAffinity", "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "spec.externalTrafficPolicy", "spec.internalTrafficPolicy", "spec.externalName", "spec.publishNotReadyAddresses", "spec.loadBalancerIP", "spec.ipFamilies[]", "spec.ipFamilyPolicy", "status.*"],
};

const matches = (pattern: string, path: string): boolean => pattern === path || (pattern.endsWith(".*") && path.startsWith(pattern.slice(0, -1)));
const leadsTo = (pattern: string, path: string): boolean => pattern.startsWith(`${path}.`) || pattern.startsWith(`${path}[]`);

function unsupportedFields(allowed: string[], value: unknown, path = ""): string[] {
  if (path && allowed.some((a) => matches(a, path))) return [];
  if (value !== null && typeof value === "object" && (path === "" || allowed.some((a) => leadsTo(a, path)))) {
    if (Array.isArray(value)) return value.flatMap((v) => unsupportedFields(allowed, v, `${path}[]`));
    return Object.entries(value).flatMap(([k, v]) => unsupportedFields(allowed, v, path ? `${path}.${k}` : k));
  }
  return [path];
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const jsonPath = (instancePath: string): string => instancePath.replace(/^\//, "").replace(/\/(\d+)(?=\/|$)/g, "[$1]").replace(/\//g, ".");
const at = (obj: unknown, instancePath: string): unknown => instancePath.split("/").filter(Boolean).reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), obj);

function describe(doc: Doc): string {
  const meta = (doc.body.metadata ?? {}) as { name?: string };
  return `${String(doc.body.kind ?? "document")} "${meta.name ?? "?"}" (${doc.source}, document ${doc.index + 1})`;
}

function invalid(doc: Doc, field: string, value: unknown, why: string): never {
  throw new ManifestError(`${describe(doc)} is invalid: ${field}: Invalid value: ${JSON.stringify(value)}: ${why}`);
}

/** The API server's checks for what the lab models, beyond the schema's types. */
function checkSemantics(doc: Doc, kind: string): void {
  const b = doc.body as { metadata: { name?: string; namespace?: string }; spec?: Record<string, unknown> };
  const name = b.metadata?.name;
  if (!name) invalid(doc, "metadata.name", name ?? "", "name is required");
  if (!(kind === "Service" ? DNS1123_LABEL : DNS1123_SUBDOMAIN).test(name) || name.length > 63) invalid(doc, "metadata.name", name, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character");
  if (b.metadata.namespace !== undefined && !DNS1123_LABEL.test(b.metadata.namespace)) invalid(doc, "metadata.namespace", b.metadata.namespace, "must be a lowercase RFC 1123 label");
  const spec = (b.spec ?? {}) as Record<string, unknown>;
  const podSpec = (kind === "Pod" ? spec : ((spec.template as { spec?: unknown } | undefined)?.spec ?? {})) as Pod["spec"];
  const prefix = kind === "Pod" ? "spec" : "spec.template.spec";
  if (kind === "Ingress") checkIngress(doc, spec as Ingress["spec"]);
  const secret = doc.body as unknown as Secret;
  if (kind === "Secret" && secret.type === "kubernetes.io/tls") {
    const data = { ...(secret.data ?? {}), ...secret.stringData };
    for (const k of ["tls.crt", "tls.key"]) if (!data[k]) invalid(doc, `data[${k}]`, "", "Required value");
  }
  if (["Namespace", "Ingress", "IngressClass", "Secret"].includes(kind)) return;
  if (kind !== "Service") {
    (podSpec.containers ?? []).forEach((c, i) =>
      (c.ports ?? []).forEach((p, j) => {
        if (p.containerPort < 1 || p.containerPort > 65535) invalid(doc, `${prefix}.containers[${i}].ports[${j}].containerPort`, p.containerPort, "must be between 1 and 65535, inclusive");
      }),
    );
  }
  if (kind === "Deployment" || kind === "StatefulSet") {
    const sel = (spec.selector as { matchLabels?: Record<string, string> }).matchLabels ?? {};
    const labels = ((spec.template as { metadata?: { labels?: Record<string, string> } }).metadata?.labels ?? {}) as Record<string, string>;
    if (Object.entries(sel).some(([k, v]) => labels[k] !== v)) invalid(doc, "spec.template.metadata.labels", labels, "`selector` does not match template `labels`");
    const replicas = spec.replicas as number | undefined;
    if (replicas !== undefined && replicas < 0) invalid(doc, "spec.replicas", replicas, "must be greater than or equal to 0");
  }
  if (kind === "Service") {
    const ports = (spec.ports ?? []) as Service["spec"]["ports"] & object;
    const type = (spec.type as string | undefined) ?? "ClusterIP";
    if (type === "ExternalName" && !spec.externalName) invalid(doc, "spec.externalName", spec.externalName ?? "", "Required value");
    if (type !== "ExternalName" && ports.length === 0) invalid(doc, "spec.ports", [], "Required value");
    const names = new Set<string>();
    ports.forEach((p, i) => {
      if (p.port < 1 || p.port > 65535) invalid(doc, `spec.ports[${i}].port`, p.port, "must be between 1 and 65535, inclusive");
      if (ports.length > 1 && !p.name) invalid(doc, `spec.ports[${i}].name`, "", "Required value");
      if (p.name && names.has(p.name)) invalid(doc, `spec.ports[${i}].name`, p.name, "Duplicate value");
      if (p.name) names.add(p.name);
      if (typeof p.targetPort === "number" && (p.targetPort < 1 || p.targetPort > 65535)) invalid(doc, `spec.ports[${i}].targetPort`, p.targetPort, "must be between 1 and 65535, inclusive");
      if (p.nodePort !== undefined && type === "ClusterIP") invalid(doc, `spec.ports[${i}].nodePort`, p.nodePort, "may not be used when `type` is 'ClusterIP'");
    });
    if (spec.clusterIP === "None" && type !== "ClusterIP") invalid(doc, "spec.clusterIP", "None", `may not be set to 'None' for ${type} services`);
    if (spec.sessionAffinity !== undefined && !["None", "ClientIP"].includes(spec.sessionAffinity as string)) invalid(doc, "spec.sessionAffinity", spec.sessionAffinity, 'supported values: "ClientIP", "None"');
  }
}

function checkIngress(doc: Doc, spec: Ingress["spec"]): void {
  (spec.rules ?? []).forEach((r, i) =>
    (r.http?.paths ?? []).forEach((p, j) => {
      const field = `spec.rules[${i}].http.paths[${j}]`;
      if (!["Exact", "Prefix", "ImplementationSpecific"].includes(p.pathType)) invalid(doc, `${field}.pathType`, p.pathType, 'supported values: "Exact", "ImplementationSpecific", "Prefix"');
      if (!p.path?.startsWith("/")) invalid(doc, `${field}.path`, p.path ?? "", "must be an absolute path");
      if (!p.backend.service?.port?.number && !p.backend.service?.port?.name) invalid(doc, `${field}.backend.service.port`, p.backend.service?.port ?? "", "port name or number is required");
    }),
  );
  if (!spec.rules?.length && !spec.defaultBackend) invalid(doc, "spec.rules", [], "either `defaultBackend` or `rules` must be specified");
}

function toManifest(doc: Doc, warn: (msg: string) => void): Manifest {
  const kind = String(doc.body.kind ?? "");
  const spec = KINDS[kind];
  if (!spec) throw new ManifestError(`${describe(doc)}: kind "${kind}" is not supported by the lab (supported: ${Object.keys(KINDS).join(", ")})`);
  if (doc.body.apiVersion !== spec.apiVersion) invalid(doc, "apiVersion", doc.body.apiVersion ?? "", `${kind} is served as ${spec.apiVersion}`);
  try {
    spec.validate(doc.body);
  } catch (err) {
    const e = err as { errors?: { instancePath: string; message?: string; params?: Record<string, unknown> }[]; message: string };
    const first = e.errors?.[0];
    if (!first) throw new ManifestError(`${describe(doc)} is invalid: ${e.message}`);
    const field = first.params?.missingProperty ? `${jsonPath(first.instancePath)}${first.instancePath ? "." : ""}${String(first.params.missingProperty)}` : jsonPath(first.instancePath);
    const why = first.params?.allowedValues ? `supported values: ${(first.params.allowedValues as string[]).map((v) => `"${v}"`).join(", ")}` : (first.message ?? "invalid");
    invalid(doc, field || "(document)", first.params?.missingProperty ? "" : at(doc.body, first.instancePath), why);
  }
  checkSemantics(doc, kind);
  for (const f of new Set(unsupportedFields(SUPPORTED[kind] ?? [], doc.body))) warn(`${describe(doc)}: field ${f} is not modelled by the lab and is ignored`);
  return { kind, obj: doc.body } as unknown as Manifest;
}

function files(path: string, recursive: boolean): string[] {
  if (!statSync(path, { throwIfNoEntry: false })) throw new ManifestError(`the path "${path}" does not exist`);
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((f) => {
      const p = join(path, f);
      if (statSync(p).isDirectory()) return recursive ? files(p, true) : [];
      return /\.(ya?ml|json)$/.test(f) ? [p] : [];
    });
}

/** Every document under `path` (a file, or a directory's .yaml/.yml/.json files, with -R its subdirectories). */
export function readManifests(path: string, recursive: boolean, warn: (msg: string) => void): Manifest[] {
  const out: Manifest[] = [];
  for (const file of files(path, recursive)) {
    parseAllDocuments(readFileSync(file, "utf8")).forEach((d, index) => {
      if (d.errors.length) throw new ManifestError(`${file}, document ${index + 1}: YAML: ${d.errors[0]?.message}`);
      const body = d.toJS() as unknown;
      if (body === null || body === undefined) return;
      if (typeof body !== "object" || Array.isArray(body)) throw new ManifestError(`${file}, document ${index + 1}: not a Kubernetes object`);
      out.push(toManifest({ source: file, index, body: body as Record<string, unknown> }, warn));
    });
  }
  return out;
}
