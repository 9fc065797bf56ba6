// Helpers for Service tests on a lab: kubectl-like reads and commands run inside pods and nodes.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { readyAddresses } from "../../lab/apiserver/endpoints.js";
import { loadState } from "../../lab/cluster/state.js";
import { KubeClient } from "../../kube/client.js";
import { loadKubeconfig } from "../../kube/config.js";
import { ENDPOINT_SLICES } from "../../kube/kinds.js";
import type { EndpointSlice } from "../../proxy/model.js";

export const EXAMPLES = resolve(import.meta.dirname, "../../examples");
export const FIXTURES = resolve(import.meta.dirname, "../fixtures/services");

type Lab = (...args: string[]) => { code: number; out: string; err: string };

export interface K8sItem {
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec: { clusterIP?: string; nodeName?: string; ports?: { name?: string; port: number; nodePort?: number }[] };
  status?: { podIP?: string; loadBalancer?: { ingress?: { ip: string }[] } };
  subsets?: { addresses?: { ip: string }[] }[];
}

export function kube(lab: Lab) {
  const must = (...args: string[]): string => {
    const r = lab(...args);
    if (r.code !== 0) throw new Error(`weft-lab ${args.join(" ")} exited ${r.code}: ${r.err}`);
    return r.out;
  };
  const list = (what: string): K8sItem[] => (JSON.parse(must("get", what, "-o", "json")) as { items: K8sItem[] }).items;
  return {
    must,
    list,
    svc: (name: string): K8sItem => {
      const s = list("svc").find((x) => x.metadata.name === name);
      if (!s) throw new Error(`no service ${name}`);
      return s;
    },
    podIp: (name: string): string => list("pods").find((p) => p.metadata.name === name)?.status?.podIP ?? "",
    endpoints: (name: string): string[] => (list("ep").find((e) => e.metadata.name === name)?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort(),
    /** Runs a command in a pod or node (`weft-lab exec`); stdout, or "" when it failed. */
    exec: (where: string, ...cmd: string[]): string => {
      const r = lab("exec", where, "--", ...cmd);
      return r.code === 0 ? r.out.trim() : "";
    },
  };
}

const clients = new Map<string, KubeClient>();
/**
 * A Service's ready endpoint addresses read straight from the lab's API server over a kept-alive
 * connection, so a timing loop measures the system, not the 0.2–0.5 s start of a `weft-lab get` per poll.
 */
export async function readyEndpoints(labDir: string, service: string, namespace = "default"): Promise<string[]> {
  const slices = (await labClient(labDir).list(ENDPOINT_SLICES, { namespace, labelSelector: `kubernetes.io/service-name=${service}` })).items as unknown as EndpointSlice[];
  return readyAddresses(slices, service);
}

/** A client of the lab's API server, one per lab, its connection kept alive between calls. */
export function labClient(labDir: string): KubeClient {
  let client = clients.get(labDir);
  if (!client) {
    const kubeconfig = loadState(labDir)?.apiserver?.kubeconfig;
    if (!kubeconfig) throw new Error(`no lab API server in ${labDir}`);
    client = new KubeClient(loadKubeconfig(kubeconfig));
    clients.set(labDir, client);
  }
  return client;
}

export const curl = (url: string, timeoutS = 2): string[] => ["curl", "-s", "-m", String(timeoutS), url];

/** Polls `check` every 50 ms until it is true; returns the milliseconds it took, or throws. */
export async function within(ms: number, what: string, check: () => boolean | Promise<boolean>): Promise<number> {
  const t = Date.now();
  while (!(await check())) {
    if (Date.now() - t > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - t;
}

export const iptablesSave = (netns: string): string => spawnSync("ip", ["netns", "exec", netns, "iptables-save", "-t", "nat"], { encoding: "utf8" }).stdout;
export const nftList = (netns: string): string => spawnSync("ip", ["netns", "exec", netns, "nft", "list", "table", "ip", "kube-proxy"], { encoding: "utf8" }).stdout;

/** Pearson's chi-square statistic of `counts` against a uniform spread. */
export function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}
