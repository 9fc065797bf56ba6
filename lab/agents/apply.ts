// `weft-lab apply` and `delete`: a thin client of the lab's API server, as `kubectl apply --server-side`
// and `kubectl delete` are, that then waits for the cluster to act — the pods of what it applied
// running (or their failure said), the pods of what it deleted gone — so that a script's next line
// finds the lab as it asked. Every document is first sent as a dry run: one the API refuses stops the
// whole apply with nothing changed.
import { KubeClient } from "../../kube/client.js";
import { loadKubeconfig } from "../../kube/config.js";
import { isNotFound, KubeApiError } from "../../kube/errors.js";
import { KINDS } from "../../kube/kinds.js";
import { PODS, resourcePath, type KubeObject, type ResourceType } from "../../kube/resources.js";
import type { Pod } from "../../proxy/model.js";
import type { Manifest } from "../apiserver/manifests.js";
import type { LabState } from "../cluster/state.js";
import { OWNER, ownerKey, templateHash, TEMPLATE_HASH, type ApiWorkload } from "./workloads.js";

const FIELD_MANAGER = "weft-lab";
const SETTLE_TIMEOUT_MS = 90_000;

/** kubectl's name of a kind in its output lines: "deployment.apps", "service", "ingress.networking.k8s.io". */
const printedName = (t: ResourceType, kind: string): string => (t.group ? `${kind.toLowerCase()}.${t.group}` : kind.toLowerCase());

interface Doc {
  type: ResourceType;
  kind: string;
  obj: KubeObject & { metadata: { name: string; namespace?: string } };
}

function docsOf(manifests: Manifest[]): Doc[] {
  return manifests.map((m) => {
    const type = KINDS[m.kind];
    if (!type) throw new Error(`kind "${m.kind}" is not served by the lab's API`);
    const obj = structuredClone(m.obj) as unknown as Doc["obj"];
    if (type.namespaced) obj.metadata.namespace ??= "default";
    return { type, kind: m.kind, obj };
  });
}

/** As kubectl prints the server's refusal. */
export function serverError(err: unknown): Error {
  if (!(err instanceof KubeApiError)) return err as Error;
  const s = err.status;
  return new Error(s.reason === "Invalid" ? `The ${s.message}` : `Error from server (${s.reason ?? s.code}): ${s.message}`);
}

export function labClient(state: LabState): KubeClient {
  if (!state.apiserver) throw new Error("the lab has no API server (it was brought up by an older weft-lab: run down and up)");
  return new KubeClient(loadKubeconfig(state.apiserver.kubeconfig), { userAgent: "weft-lab" });
}

async function tryGet(client: KubeClient, d: Doc): Promise<KubeObject | undefined> {
  try {
    return await client.get(d.type, d.obj.metadata.name, d.obj.metadata.namespace);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw serverError(err);
  }
}

const applied = (client: KubeClient, d: Doc, dryRun: boolean): Promise<KubeObject> =>
  client.request({ method: "PATCH", path: resourcePath(d.type, d.obj.metadata.namespace, d.obj.metadata.name), body: d.obj, contentType: "application/apply-patch+yaml", query: { fieldManager: FIELD_MANAGER, force: true, ...(dryRun ? { dryRun: "All" } : {}) } });

export async function apply(state: LabState, manifests: Manifest[]): Promise<string[]> {
  const client = labClient(state);
  try {
    // Namespaces first, for real: the dry run of what goes into them needs them.
    const docs = docsOf(manifests).sort((a, b) => Number(b.kind === "Namespace") - Number(a.kind === "Namespace"));
    for (const d of docs) if (d.kind === "Namespace") await applied(client, d, true).catch((err: unknown) => Promise.reject(serverError(err)));
    const report: string[] = [];
    const results: { d: Doc; obj: KubeObject }[] = [];
    const send = async (d: Doc): Promise<void> => {
      const before = await tryGet(client, d);
      const obj = await applied(client, d, false).catch((err: unknown) => Promise.reject(serverError(err)));
      const verb = !before ? "created" : before.metadata?.resourceVersion === obj.metadata?.resourceVersion ? "unchanged" : "configured";
      report.push(`${printedName(d.type, d.kind)}/${d.obj.metadata.name} ${verb}`);
      results.push({ d, obj });
    };
    for (const d of docs) if (d.kind === "Namespace") await send(d);
    for (const d of docs) if (d.kind !== "Namespace") await applied(client, d, true).catch((err: unknown) => Promise.reject(serverError(err)));
    for (const d of docs) if (d.kind !== "Namespace") await send(d);
    await settle(client, "the applied pods to run", (pods) => results.flatMap(({ d, obj }) => pendingAfterApply(d.kind, obj, pods)));
    return report;
  } finally {
    client.close();
  }
}

export async function remove(state: LabState, manifests: Manifest[]): Promise<string[]> {
  const client = labClient(state);
  try {
    const docs = docsOf(manifests);
    const report: string[] = [];
    for (const d of docs) {
      try {
        await client.delete(d.type, d.obj.metadata.name, d.obj.metadata.namespace);
      } catch (err) {
        throw serverError(err);
      }
      report.push(`${printedName(d.type, d.kind)} "${d.obj.metadata.name}" deleted`);
    }
    await settle(client, "the deleted pods to stop", (pods) => docs.flatMap((d) => pendingAfterDelete(d, pods)));
    return report;
  } finally {
    client.close();
  }
}

/** What still keeps an applied object from being in place: its pods not yet running as specified. */
function pendingAfterApply(kind: string, obj: KubeObject, pods: Pod[]): string[] {
  const meta = obj.metadata as { name: string; namespace?: string };
  if (kind === "Pod") {
    const p = pods.find((x) => x.metadata.name === meta.name && x.metadata.namespace === meta.namespace);
    if (p?.status?.phase === "Failed") throw new Error(`pod "${meta.name}" failed to start: ${p.status.message ?? p.status.reason ?? "no reason given"}`);
    return p?.status?.podIP ? [] : [`pod/${meta.name}`];
  }
  if (kind !== "Deployment" && kind !== "StatefulSet") return [];
  const w = { ...obj, kind } as unknown as ApiWorkload;
  const owned = pods.filter((p) => p.metadata.annotations?.[OWNER] === ownerKey(w));
  const failed = owned.find((p) => p.status?.phase === "Failed");
  if (failed) throw new Error(`pod "${failed.metadata.name}" of ${kind.toLowerCase()} "${meta.name}" failed to start: ${failed.status?.message ?? "no reason given"}`);
  const hash = templateHash(w);
  const running = owned.filter((p) => p.metadata.labels?.[TEMPLATE_HASH] === hash && !p.metadata.deletionTimestamp && p.status?.podIP);
  const leaving = owned.filter((p) => p.metadata.labels?.[TEMPLATE_HASH] !== hash || p.metadata.deletionTimestamp);
  const replicas = w.spec.replicas ?? 1;
  return running.length === replicas && leaving.length === 0 ? [] : [`${kind.toLowerCase()}/${meta.name} (${running.length}/${replicas} running, ${leaving.length} stopping)`];
}

function pendingAfterDelete(d: Doc, pods: Pod[]): string[] {
  const ns = d.obj.metadata.namespace;
  if (d.kind === "Pod") return pods.some((p) => p.metadata.name === d.obj.metadata.name && p.metadata.namespace === ns) ? [`pod/${d.obj.metadata.name}`] : [];
  if (d.kind !== "Deployment" && d.kind !== "StatefulSet") return [];
  const owner = `${d.kind}/${ns ?? "default"}/${d.obj.metadata.name}`;
  const left = pods.filter((p) => p.metadata.annotations?.[OWNER] === owner).length;
  return left ? [`${d.kind.toLowerCase()}/${d.obj.metadata.name} (${left} pods)`] : [];
}

/** Polls the pods until `pending` finds nothing left to wait for. */
async function settle(client: KubeClient, what: string, pending: (pods: Pod[]) => string[]): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const pods = (await client.list<KubeObject>(PODS)).items as unknown as Pod[];
    const left = pending(pods);
    if (!left.length) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${SETTLE_TIMEOUT_MS / 1000} s waiting for ${what}: ${left.join(", ")} (see the kubelets' and controller-manager's logs)`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
