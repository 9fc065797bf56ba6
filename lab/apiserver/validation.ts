// What the lab's API server validates, with kube's field paths and messages: object names (DNS-1123),
// label keys and values, pods' containers, services' ports. Returns the causes of a 422.
import { invalidValue, requiredValue, unsupportedValue, type StatusCause } from "./errors.js";
import { isObject, type KubeObject } from "./objects.js";
import type { ResourceInfo } from "./resources.js";

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const VALUE_MSG = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const KEY_MSG = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

/** Kinds whose names must be DNS-1123 labels (they become DNS names or hostnames). */
const LABEL_NAMED = new Set(["Namespace", "Service"]);

function labels(field: string, map: unknown, causes: StatusCause[]): void {
  if (!isObject(map)) return;
  for (const [k, v] of Object.entries(map)) {
    const [prefix, name] = k.includes("/") ? k.split("/", 2) : [undefined, k];
    if (!name || name.length > 63 || !LABEL_NAME.test(name) || (prefix !== undefined && !DNS1123_SUBDOMAIN.test(prefix))) causes.push(invalidValue(field, k, KEY_MSG));
    if (typeof v !== "string" || v.length > 63 || !LABEL_VALUE.test(v)) causes.push(invalidValue(`${field}`, v, VALUE_MSG));
  }
}

function containers(field: string, list: unknown, required: boolean, causes: StatusCause[]): void {
  if (!Array.isArray(list) || list.length === 0) {
    if (required) causes.push(requiredValue(field));
    return;
  }
  list.forEach((c, i) => {
    const at = `${field}[${i}]`;
    const ctr = isObject(c) ? c : {};
    if (!ctr.name) causes.push(requiredValue(`${at}.name`));
    else if (typeof ctr.name !== "string" || !DNS1123_LABEL.test(ctr.name)) causes.push(invalidValue(`${at}.name`, ctr.name, LABEL_MSG));
    if (!ctr.image) causes.push(requiredValue(`${at}.image`));
    (Array.isArray(ctr.ports) ? ctr.ports : []).forEach((p: unknown, j) => {
      const port = isObject(p) ? p : {};
      if (typeof port.containerPort !== "number" || port.containerPort < 1 || port.containerPort > 65535) causes.push(invalidValue(`${at}.ports[${j}].containerPort`, port.containerPort, "must be between 1 and 65535, inclusive"));
      if (port.protocol !== undefined && !["TCP", "UDP", "SCTP"].includes(String(port.protocol))) causes.push(unsupportedValue(`${at}.ports[${j}].protocol`, port.protocol, ["SCTP", "TCP", "UDP"]));
    });
  });
}

function podSpec(field: string, spec: unknown, causes: StatusCause[]): void {
  const s = isObject(spec) ? spec : {};
  containers(`${field}.containers`, s.containers, true, causes);
  containers(`${field}.initContainers`, s.initContainers, false, causes);
}

function servicePorts(spec: Record<string, unknown>, causes: StatusCause[]): void {
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  if (ports.length === 0 && spec.type !== "ExternalName" && spec.clusterIP !== "None") causes.push(requiredValue("spec.ports"));
  ports.forEach((p: unknown, i) => {
    const port = isObject(p) ? p : {};
    if (typeof port.port !== "number" || port.port < 1 || port.port > 65535) causes.push(invalidValue(`spec.ports[${i}].port`, port.port, "must be between 1 and 65535, inclusive"));
    if (port.protocol !== undefined && !["TCP", "UDP", "SCTP"].includes(String(port.protocol))) causes.push(unsupportedValue(`spec.ports[${i}].protocol`, port.protocol, ["SCTP", "TCP", "UDP"]));
    if (typeof port.targetPort === "number" && (port.targetPort < 1 || port.targetPort > 65535)) causes.push(invalidValue(`spec.ports[${i}].targetPort`, port.targetPort, "must be between 1 and 65535, inclusive"));
    if (ports.length > 1 && !port.name) causes.push(requiredValue(`spec.ports[${i}].name`));
  });
  labels("spec.selector", spec.selector, causes);
  const types = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
  if (spec.type !== undefined && !types.includes(String(spec.type))) causes.push(unsupportedValue("spec.type", spec.type, types));
}

export function validate(r: ResourceInfo, obj: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = obj.metadata.name;
  if (!name) causes.push(requiredValue("metadata.name"));
  else if (name.length > 253 || !(LABEL_NAMED.has(r.kind) ? DNS1123_LABEL : DNS1123_SUBDOMAIN).test(name)) causes.push(invalidValue("metadata.name", name, LABEL_NAMED.has(r.kind) ? LABEL_MSG : SUBDOMAIN_MSG));
  labels("metadata.labels", obj.metadata.labels, causes);
  const spec = obj.spec ?? {};
  if (r.kind === "Pod") podSpec("spec", spec, causes);
  if (r.kind === "Service") servicePorts(spec, causes);
  if (r.kind === "Deployment" || r.kind === "StatefulSet") {
    const template = isObject(spec.template) ? spec.template : {};
    podSpec("spec.template.spec", template.spec, causes);
    const selector = isObject(spec.selector) ? spec.selector : undefined;
    if (!selector) causes.push(requiredValue("spec.selector"));
    else labels("spec.selector.matchLabels", selector.matchLabels, causes);
    const tl = isObject(template.metadata) ? (template.metadata.labels as Record<string, string> | undefined) : undefined;
    const ml = (selector?.matchLabels ?? {}) as Record<string, string>;
    if (selector && !Object.entries(ml).every(([k, v]) => tl?.[k] === v)) causes.push(invalidValue("spec.template.metadata.labels", tl ?? {}, "`selector` does not match template `labels`"));
  }
  return causes;
}
