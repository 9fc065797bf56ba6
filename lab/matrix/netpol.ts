// `weft-lab netpol`: the upstream NetworkPolicy model built through the lab's API (netpol-model.ts),
// idempotently, then every pair of its pods probed per port and protocol with agnhost connect from
// inside the source pod's namespace (one process per source row, all rows at once: netpol-row.ts),
// giving the truth tables the upstream suite prints (truth-table.ts).
import { ENDPOINTS, SERVICES } from "../../kube/kinds.js";
import { isNotFound } from "../../kube/errors.js";
import { NAMESPACES, PODS, type KubeObject } from "../../kube/resources.js";
import { podIps, type Pod } from "../../proxy/model.js";
import { apply, labClient } from "../agents/apply.js";
import { podNetns } from "../agents/pods.js";
import type { LabState } from "../cluster/state.js";
import type { AgnhostProtocol } from "../containers/agnhost-args.js";
import { MODEL_PODS, modelManifests, NETPOL_NAMESPACES, serviceName, type NetpolProtocol } from "./netpol-model.js";
import type { RowJob, RowResult } from "./netpol-row.js";
import { RowProbers } from "./row-probers.js";
import { expectedFor, formatProbedTable, summarize, type Grid, type ProbedTable } from "./truth-table.js";

const READY_TIMEOUT_MS = 90_000;
const CLEAN_TIMEOUT_MS = 90_000;

export interface NetpolOptions {
  ports: number[];
  protocols: NetpolProtocol[];
  /** Dial each destination pod's address, or its Service's ClusterIP (judged after the proxy's DNAT). */
  via: "pod" | "service";
  timeoutMs: number;
  /** Expected tables: "TCP/80" → grid, or "*" for every port and protocol (the same for every family). */
  expect?: Record<string, Grid>;
  /** The address families to probe, each a table of its own; the pods' first family when not given. */
  families?: IpFamily[];
}

export type IpFamily = 4 | 6;

export interface ModelPod {
  key: string;
  node: string;
  ip: string;
  /** Every address of the pod, one per family (ip is the first). */
  ips: string[];
  netns: string;
  serviceIp?: string;
  serviceIps?: string[];
}

export interface NetpolTable extends ProbedTable {
  family: IpFamily;
  correct?: number;
  incorrect?: number;
  wrong?: string[];
}

export interface NetpolResult {
  pods: ModelPod[];
  via: NetpolOptions["via"];
  /** How long building (or finding) the model and its readiness took, and one probe of every table. */
  buildMs: number;
  probeMs: number;
  tables: NetpolTable[];
}

const isReady = (p: Pod): boolean => !!p.status?.podIP && !p.metadata.deletionTimestamp && (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
const keyOf = (p: { metadata: { namespace?: string; name: string } }): string => `${p.metadata.namespace ?? "default"}/${p.metadata.name}`;

/** The model's pods as the API has them now; those not ready are left out. */
export async function modelPods(state: LabState): Promise<ModelPod[]> {
  const client = labClient(state);
  try {
    const pods: ModelPod[] = [];
    for (const ns of NETPOL_NAMESPACES) {
      const [list, services] = await Promise.all([client.list<KubeObject>(PODS, { namespace: ns }), client.list<KubeObject>(SERVICES, { namespace: ns })]);
      for (const p of list.items as unknown as Pod[]) {
        if (!MODEL_PODS.includes(keyOf(p)) || !isReady(p)) continue;
        const svc = services.items.find((s) => s.metadata?.name === serviceName(ns, p.metadata.name)) as { spec?: { clusterIP?: string; clusterIPs?: string[] } } | undefined;
        const service = svc?.spec?.clusterIP ? { serviceIp: svc.spec.clusterIP, serviceIps: svc.spec.clusterIPs ?? [svc.spec.clusterIP] } : {};
        pods.push({ key: keyOf(p), node: p.spec.nodeName ?? "", ip: p.status?.podIP ?? "", ips: podIps(p), netns: podNetns(state, p), ...service });
      }
    }
    return pods.sort((a, b) => MODEL_PODS.indexOf(a.key) - MODEL_PODS.indexOf(b.key));
  } finally {
    client.close();
  }
}

/** Every Service of the model has a ready endpoint (so its ClusterIP leads somewhere). */
async function servicesHaveEndpoints(state: LabState): Promise<boolean> {
  const client = labClient(state);
  try {
    for (const key of MODEL_PODS) {
      const [ns = "", pod = ""] = key.split("/");
      const ep = (await client.get<KubeObject>(ENDPOINTS, serviceName(ns, pod), ns).catch(() => undefined)) as { subsets?: { addresses?: unknown[] }[] } | undefined;
      if (!ep?.subsets?.some((s) => s.addresses?.length)) return false;
    }
    return true;
  } finally {
    client.close();
  }
}

const modelReady = async (state: LabState, pods: ModelPod[], via: NetpolOptions["via"]): Promise<boolean> =>
  pods.length === MODEL_PODS.length && (via === "pod" || (pods.every((p) => p.serviceIp) && (await servicesHaveEndpoints(state))));

/**
 * The model's pods, ready: found as they are when all nine are (labels a test or user added stay, and
 * a probe costs no apply), else the model applied (unchanged objects stay as they are) and waited for.
 */
export async function ensureModel(state: LabState, via: NetpolOptions["via"]): Promise<ModelPod[]> {
  const found = await modelPods(state);
  if (await modelReady(state, found, via)) return found;
  await apply(state, modelManifests());
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const pods = await modelPods(state);
    if (await modelReady(state, pods, via)) return pods;
    if (Date.now() > deadline) throw new Error(`timed out after ${READY_TIMEOUT_MS / 1000} s waiting for the policy model's pods to be ready (${pods.length} of ${MODEL_PODS.length}: ${pods.map((p) => p.key).join(", ")}); see the kubelets' logs`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Whether the model's namespaces are there (the report shows its tables then). */
export async function modelExists(state: LabState): Promise<boolean> {
  const client = labClient(state);
  try {
    await client.get(NAMESPACES, NETPOL_NAMESPACES[0]);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  } finally {
    client.close();
  }
}

/** Deletes the model's namespaces (their pods and Services with them) and waits until they are gone. */
export async function cleanModel(state: LabState): Promise<string[]> {
  const client = labClient(state);
  try {
    const removed: string[] = [];
    for (const ns of NETPOL_NAMESPACES) {
      try {
        await client.delete(NAMESPACES, ns);
        removed.push(ns);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    const deadline = Date.now() + CLEAN_TIMEOUT_MS;
    for (const ns of NETPOL_NAMESPACES) {
      while (await client.get(NAMESPACES, ns).then(() => true, (err: unknown) => (isNotFound(err) ? false : Promise.reject(err)))) {
        if (Date.now() > deadline) throw new Error(`timed out after ${CLEAN_TIMEOUT_MS / 1000} s waiting for namespace ${ns} to be deleted`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    return removed;
  } finally {
    client.close();
  }
}

const familyOf = (ip: string): IpFamily => (ip.includes(":") ? 6 : 4);

/** The address `to` is dialled at in `family`: its own, or its Service's ClusterIP of that family. */
function targetAddress(to: ModelPod, family: IpFamily, via: NetpolOptions["via"]): string {
  const candidates = via === "service" ? (to.serviceIps ?? []) : to.ips;
  const address = candidates.find((ip) => familyOf(ip) === family);
  if (!address) throw new Error(`${to.key} has no IPv${family} ${via === "service" ? "ClusterIP" : "address"} (${candidates.join(", ") || "none"}): probe IPv${family} in a lab brought up with --ip-family ${family === 6 ? "dual or ipv6" : "dual or ipv4"}`);
  return address;
}

/** Every pair of `pods`, per family, port and protocol, all rows at once; `probers` kept by the caller across calls, else made for this one. */
export async function probeModel(pods: ModelPod[], opts: NetpolOptions, probers?: RowProbers): Promise<NetpolTable[]> {
  const families = opts.families ?? [familyOf(pods[0]?.ip ?? "")];
  const combos = families.flatMap((family) => opts.protocols.flatMap((protocol) => opts.ports.map((port) => ({ family, protocol, port }))));
  const jobs = pods.map((from): RowJob => ({
    from: from.key,
    timeoutMs: opts.timeoutMs,
    targets: pods.flatMap((to) => combos.map((c) => ({ to: to.key, host: targetAddress(to, c.family, opts.via), port: c.port, protocol: c.protocol.toLowerCase() as AgnhostProtocol }))),
  }));
  const own = probers ?? new RowProbers();
  let rows: { from: string; results: RowResult[] }[];
  try {
    rows = await Promise.all(pods.map((from, i) => own.probe(from.netns, jobs[i] as RowJob, from.key).then((results) => ({ from: from.key, results }))));
  } finally {
    if (!probers) own.close();
  }
  const keys = pods.map((p) => p.key);
  return combos.map(({ family, protocol, port }): NetpolTable => {
    const observed: Grid = {};
    for (const { from, results } of rows) observed[from] = Object.fromEntries(results.filter((r) => r.port === port && r.protocol === protocol.toLowerCase() && familyOf(r.host) === family).map((r) => [r.to, r.ok]));
    const expected = opts.expect ? expectedFor(opts.expect, protocol, port) : undefined;
    if (!expected) return { family, protocol, port, observed };
    const s = summarize(keys, expected, observed);
    return { family, protocol, port, observed, expected, correct: s.correct, incorrect: s.incorrect, wrong: s.wrong };
  });
}

export async function runNetpol(state: LabState, opts: NetpolOptions): Promise<NetpolResult> {
  const t0 = performance.now();
  const pods = await ensureModel(state, opts.via);
  const t1 = performance.now();
  const tables = await probeModel(pods, opts);
  return { pods, via: opts.via, buildMs: Math.round(t1 - t0), probeMs: Math.round(performance.now() - t1), tables };
}

export function formatNetpol(r: NetpolResult): string {
  const keys = r.pods.map((p) => p.key);
  const where = r.pods.map((p) => `${p.key} ${p.ip}${r.via === "service" ? ` (Service ${p.serviceIp ?? "?"})` : ""} on ${p.node}`).join(", ");
  const head = `NetworkPolicy truth tables: rows from, columns to; . connected, X not. Probed via ${r.via === "service" ? "each pod's Service" : "pod addresses"} with agnhost connect.\n${where}`;
  const families = new Set(r.tables.map((t) => t.family)).size;
  return [head, ...r.tables.map((t) => formatProbedTable(keys, families > 1 ? t : { ...t, family: undefined })), `model ready in ${r.buildMs} ms; ${r.tables.length} tables of ${keys.length}×${keys.length} probed in ${r.probeMs} ms`].join("\n\n");
}

/** The exit status: 1 when an expectation was given and any table disagrees with it. */
export const netpolPassed = (r: NetpolResult): boolean => r.tables.every((t) => !t.incorrect);
