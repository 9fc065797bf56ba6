// `weft-lab netpol --replay FILE`: cases of policy steps replayed on the upstream model in one process.
// Each step makes the API hold exactly its NetworkPolicies and ClusterNetworkPolicies (those of the
// step before that it lacks are deleted; its own are server-side applied) and adds its namespace and
// pod labels, then probes its ports and protocols until every table is the one it expects or the
// deadline passes. After each case its policies are deleted and its labels removed. One process and one
// API client for the whole replay: a step costs its API writes and the nine row probers, not a CLI
// start and a kubectl per object (the upstream suite's 48 cases, 60 steps).
import { isNotFound } from "../../kube/errors.js";
import { KINDS } from "../../kube/kinds.js";
import { NAMESPACES, PODS, type KubeObject, type ResourceType } from "../../kube/resources.js";
import { labClient } from "../agents/apply.js";
import type { LabState } from "../cluster/state.js";
import { ensureModel, probeModel, type IpFamily, type NetpolTable } from "./netpol.js";
import type { NetpolProtocol } from "./netpol-model.js";
import { RowProbers } from "./row-probers.js";
import type { Grid } from "./truth-table.js";

export interface ReplayStep {
  /** NetworkPolicy and ClusterNetworkPolicy manifests: every policy in force at this step. */
  policies: (KubeObject & { kind: string; metadata: { name: string; namespace?: string } })[];
  /** Labels added at this step and kept to the case's end: namespace → labels. */
  namespaceLabels?: Record<string, Record<string, string>>;
  /** Labels added at this step and kept to the case's end: "ns/pod" → labels. */
  podLabels?: Record<string, Record<string, string>>;
  /** What to probe and the table each must give (the same on every family probed). */
  probes: { protocol: NetpolProtocol; port: number; expected: Grid }[];
}

export interface ReplayCase {
  name: string;
  steps: ReplayStep[];
}

export interface ReplayStepResult {
  passed: boolean;
  /** Probe rounds until every table was the expected one (or the deadline). */
  rounds: number;
  /** From the step's last API write to the round that passed (or the deadline). */
  ms: number;
  tables: NetpolTable[];
}

export interface ReplayOptions {
  families?: IpFamily[];
  timeoutMs: number;
  /** How long a step may take to be observed as expected. */
  deadlineMs: number;
}

const FIELD_MANAGER = "weft-lab-netpol";
const keyOf = (p: ReplayStep["policies"][number]): string => `${p.kind}/${p.metadata.namespace ?? ""}/${p.metadata.name}`;

function typeOf(p: ReplayStep["policies"][number]): ResourceType {
  const type = KINDS[p.kind];
  if (!type || (p.kind !== "NetworkPolicy" && p.kind !== "ClusterNetworkPolicy")) throw new Error(`a replay step holds NetworkPolicies and ClusterNetworkPolicies only, not ${p.kind} ${p.metadata.name}`);
  return type;
}

export async function replayCases(state: LabState, cases: ReplayCase[], opts: ReplayOptions, onStep?: (c: string, i: number, r: ReplayStepResult) => void): Promise<{ name: string; steps: ReplayStepResult[] }[]> {
  const pods = await ensureModel(state, "pod");
  const client = labClient(state);
  const probers = new RowProbers();
  const label = async (type: ResourceType, name: string, labels: Record<string, string | null>, namespace?: string): Promise<void> => {
    await client.patch(type, name, { metadata: { labels } }, { ...(namespace ? { namespace } : {}), patchType: "merge" });
  };
  try {
    const results: { name: string; steps: ReplayStepResult[] }[] = [];
    for (const c of cases) {
      let inForce: ReplayStep["policies"] = [];
      const added: { type: ResourceType; name: string; namespace?: string; keys: string[] }[] = [];
      const steps: ReplayStepResult[] = [];
      const moveTo = async (step: Pick<ReplayStep, "policies" | "namespaceLabels" | "podLabels">): Promise<void> => {
        const wanted = new Set(step.policies.map(keyOf));
        for (const p of inForce.filter((x) => !wanted.has(keyOf(x)))) await client.delete(typeOf(p), p.metadata.name, p.metadata.namespace).catch((err: unknown) => (isNotFound(err) ? undefined : Promise.reject(err)));
        for (const p of step.policies) await client.apply(typeOf(p), p, { fieldManager: FIELD_MANAGER, force: true });
        inForce = step.policies;
        for (const [ns, labels] of Object.entries(step.namespaceLabels ?? {})) {
          await label(NAMESPACES, ns, labels);
          added.push({ type: NAMESPACES, name: ns, keys: Object.keys(labels) });
        }
        for (const [key, labels] of Object.entries(step.podLabels ?? {})) {
          const [namespace = "", name = ""] = key.split("/");
          await label(PODS, name, labels, namespace);
          added.push({ type: PODS, name, namespace, keys: Object.keys(labels) });
        }
      };
      try {
        for (const [i, step] of c.steps.entries()) {
          await moveTo(step);
          const expect = Object.fromEntries(step.probes.map((p) => [`${p.protocol}/${p.port}`, p.expected]));
          const probe = { ports: [...new Set(step.probes.map((p) => p.port))], protocols: [...new Set(step.probes.map((p) => p.protocol))], via: "pod" as const, timeoutMs: opts.timeoutMs, expect, ...(opts.families ? { families: opts.families } : {}) };
          const t0 = performance.now();
          let result: ReplayStepResult;
          for (let rounds = 1; ; rounds++) {
            const tables = (await probeModel(pods, probe, probers)).filter((t) => t.expected);
            const passed = tables.every((t) => !t.incorrect);
            result = { passed, rounds, ms: Math.round(performance.now() - t0), tables };
            if (passed || performance.now() - t0 > opts.deadlineMs) break;
            await new Promise((r) => setTimeout(r, 250));
          }
          steps.push(result);
          onStep?.(c.name, i, result);
          if (!result.passed) break; // the later steps start from this one
        }
      } finally {
        await moveTo({ policies: [] });
        for (const a of added) await label(a.type, a.name, Object.fromEntries(a.keys.map((k) => [k, null])), a.namespace);
      }
      results.push({ name: c.name, steps });
    }
    return results;
  } finally {
    probers.close();
    client.close();
  }
}
