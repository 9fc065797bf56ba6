// meta.k8s.io/v1 Tables, what kubectl asks for (`Accept: application/json;as=Table;…`) and prints:
// kube's columns per kind (wide ones at priority 1), NAME and AGE for the others. Cells are computed
// with the same helpers as `weft-lab get` (lab/kubectl-print.ts).
import type { Service } from "../../proxy/model.js";
import { age, endpointsColumn, externalIp, servicePorts } from "./table-cells.js";
import { isObject, valueAt, type KubeObject } from "./objects.js";
import { apiVersionOf, type ResourceInfo } from "./resources.js";

interface Column {
  name: string;
  type: "string" | "integer" | "date";
  priority?: number;
  cell: (o: KubeObject) => string | number;
}

const col = (name: string, cell: Column["cell"], priority = 0, type: Column["type"] = "string"): Column => ({ name, type, priority, cell });
const NAME = col("Name", (o) => o.metadata.name ?? "");
const AGE = col("Age", (o) => age(o.metadata.creationTimestamp), 0, "date");
const str = (v: unknown, none = "<none>"): string => (v === undefined || v === null || v === "" ? none : String(v));
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const selectorText = (m: unknown): string => (isObject(m) && Object.keys(m).length ? Object.entries(m).map(([k, v]) => `${k}=${String(v)}`).join(",") : "<none>");

function podStatus(o: KubeObject): string {
  if (o.metadata.deletionTimestamp) return "Terminating";
  const waiting = list(valueAt(o, "status.containerStatuses")).map((c) => valueAt(c, "state.waiting.reason")).find(Boolean);
  return str(waiting ?? valueAt(o, "status.reason") ?? valueAt(o, "status.phase"), "Pending");
}

function podReady(o: KubeObject): string {
  const total = list(valueAt(o, "spec.containers")).length;
  const ready = list(valueAt(o, "status.containerStatuses")).filter((c) => valueAt(c, "ready") === true).length;
  return `${ready}/${total}`;
}

const COLUMNS: Record<string, Column[]> = {
  Pod: [NAME, col("Ready", podReady), col("Status", podStatus), col("Restarts", (o) => list(valueAt(o, "status.containerStatuses")).reduce<number>((n, c) => n + Number(valueAt(c, "restartCount") ?? 0), 0), 0, "integer"), AGE, col("IP", (o) => str(valueAt(o, "status.podIP")), 1), col("Node", (o) => str(valueAt(o, "spec.nodeName")), 1), col("Nominated Node", (o) => str(valueAt(o, "status.nominatedNodeName")), 1), col("Readiness Gates", (o) => (list(valueAt(o, "spec.readinessGates")).length ? String(list(valueAt(o, "spec.readinessGates")).length) : "<none>"), 1)],
  Service: [NAME, col("Type", (o) => str(valueAt(o, "spec.type"), "ClusterIP")), col("Cluster-IP", (o) => str(valueAt(o, "spec.clusterIP"))), col("External-IP", (o) => externalIp(o as unknown as Service)), col("Port(s)", (o) => servicePorts(o as unknown as Service)), AGE, col("Selector", (o) => selectorText(valueAt(o, "spec.selector")), 1)],
  Endpoints: [NAME, col("Endpoints", (o) => endpointsColumn({ subsets: list(o.subsets) as never[] })), AGE],
  Node: [NAME, col("Status", (o) => (list(valueAt(o, "status.conditions")).some((c) => valueAt(c, "type") === "Ready" && valueAt(c, "status") === "True") ? "Ready" : "NotReady")), col("Roles", () => "<none>"), AGE, col("Version", (o) => str(valueAt(o, "status.nodeInfo.kubeletVersion"), "")), col("Internal-IP", (o) => str(list(valueAt(o, "status.addresses")).find((a) => valueAt(a, "type") === "InternalIP") && valueAt(list(valueAt(o, "status.addresses")).find((a) => valueAt(a, "type") === "InternalIP"), "address")), 1)],
  Deployment: [NAME, col("Ready", (o) => `${Number(valueAt(o, "status.readyReplicas") ?? 0)}/${Number(valueAt(o, "spec.replicas") ?? 0)}`), col("Up-to-date", (o) => Number(valueAt(o, "status.updatedReplicas") ?? 0), 0, "integer"), col("Available", (o) => Number(valueAt(o, "status.availableReplicas") ?? 0), 0, "integer"), AGE, col("Containers", (o) => list(valueAt(o, "spec.template.spec.containers")).map((c) => valueAt(c, "name")).join(","), 1), col("Images", (o) => list(valueAt(o, "spec.template.spec.containers")).map((c) => valueAt(c, "image")).join(","), 1), col("Selector", (o) => selectorText(valueAt(o, "spec.selector.matchLabels")), 1)],
  StatefulSet: [NAME, col("Ready", (o) => `${Number(valueAt(o, "status.readyReplicas") ?? 0)}/${Number(valueAt(o, "spec.replicas") ?? 0)}`), AGE, col("Containers", (o) => list(valueAt(o, "spec.template.spec.containers")).map((c) => valueAt(c, "name")).join(","), 1), col("Images", (o) => list(valueAt(o, "spec.template.spec.containers")).map((c) => valueAt(c, "image")).join(","), 1)],
  Namespace: [NAME, col("Status", (o) => str(valueAt(o, "status.phase"), "Active")), AGE],
  Ingress: [NAME, col("Class", (o) => str(valueAt(o, "spec.ingressClassName"))), col("Hosts", (o) => list(valueAt(o, "spec.rules")).map((r) => str(valueAt(r, "host"), "*")).join(",") || "*"), col("Address", (o) => list(valueAt(o, "status.loadBalancer.ingress")).map((i) => str(valueAt(i, "ip") ?? valueAt(i, "hostname"), "")).join(",")), col("Ports", (o) => (list(valueAt(o, "spec.tls")).length ? "80, 443" : "80")), AGE],
  NetworkPolicy: [NAME, col("Pod-Selector", (o) => { const s = selectorText(valueAt(o, "spec.podSelector.matchLabels")); return s === "<none>" ? "<none>" : s; }), AGE],
  EndpointSlice: [NAME, col("AddressType", (o) => str(o.addressType)), col("Ports", (o) => list(o.ports).map((p) => str(valueAt(p, "port"), "")).join(",") || "<unset>"), col("Endpoints", (o) => list(o.endpoints).flatMap((e) => list(valueAt(e, "addresses"))).slice(0, 3).join(",") || "<unset>"), AGE],
};

const columnsOf = (r: ResourceInfo): Column[] => COLUMNS[r.kind] ?? [NAME, AGE];

function rowOf(r: ResourceInfo, o: KubeObject, cols: Column[]): object {
  const metadata = { ...o.metadata };
  delete metadata.managedFields;
  return { cells: cols.map((c) => c.cell(o)), object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata } };
}

/** A Table of `objects`; `withColumns` false for a watch's later events (kube sends the columns once). */
export function toTable(r: ResourceInfo, objects: KubeObject[], resourceVersion: string | undefined, withColumns = true): object {
  const cols = columnsOf(r);
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { ...(resourceVersion ? { resourceVersion } : {}) },
    ...(withColumns ? { columnDefinitions: cols.map((c) => ({ name: c.name, type: c.type, format: c.name === "Name" ? "name" : "", description: `${c.name} of the ${r.kind} (${apiVersionOf(r)})`, priority: c.priority ?? 0 })) } : {}),
    rows: objects.map((o) => rowOf(r, o, cols)),
  };
}

/** Whether an Accept header asks for a Table (kubectl get). */
export const wantsTable = (accept: string | undefined): boolean => /as=Table/.test(accept ?? "") && /g=meta\.k8s\.io/.test(accept ?? "");
