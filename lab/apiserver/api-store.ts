// The lab's API server, reduced to a file: the Kubernetes objects that `weft-lab apply` made and the
// endpoints controller keeps current, in the JSON shape the proxy and DNS read. Writers take a lock
// file (stale locks of dead processes are broken) and replace the file atomically with a rename.
import { closeSync, existsSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ipFamilyOf, type ClusterState, type IpFamily } from "../../proxy/model.js";
import type { Ingress, IngressClass, Secret } from "./ingress-model.js";
import type { Workload } from "./manifests.js";

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
}

/** What the lab's "kubelet" knows about a running pod. */
export interface PodRuntime {
  node: string;
  netns: string;
  containerId: string;
  pid?: number;
  portMappings?: PortMapping[];
}

export interface ApiState extends ClusterState {
  workloads: Workload[];
  /** Keyed "namespace/name". */
  podRuntime: Record<string, PodRuntime>;
  /** The service CIDRs, comma-separated, one per family, the default family first (kube-apiserver's --service-cluster-ip-range). */
  serviceCidr: string;
  /** First and last address of the LoadBalancer pool on the underlay. */
  lbPool: [string, string];
  /** The IPv6 pool, on a lab with an IPv6 underlay. */
  lbPool6?: [string, string];
  ingresses?: Ingress[];
  ingressClasses?: IngressClass[];
  secrets?: Secret[];
}

export const apiFile = (dir: string): string => join(dir, "api.json");
const lockFile = (dir: string): string => join(dir, "api.lock");

export function emptyApi(serviceCidr: string, lbPool: [string, string], lbPool6?: [string, string]): ApiState {
  return { services: [], endpointSlices: [], pods: [], nodes: [], workloads: [], podRuntime: {}, serviceCidr, lbPool, ...(lbPool6 ? { lbPool6 } : {}) };
}

/** The LoadBalancer pool of `family`, if the lab has one. */
export const lbPoolOf = (api: ApiState, family: IpFamily): [string, string] | undefined => [api.lbPool, api.lbPool6].find((p) => p && ipFamilyOf(p[0]) === family);

export function readApi(dir: string): ApiState | undefined {
  if (!existsSync(apiFile(dir))) return undefined;
  return JSON.parse(readFileSync(apiFile(dir), "utf8")) as ApiState;
}

export function writeApi(dir: string, api: ApiState): void {
  const tmp = `${apiFile(dir)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(api));
  renameSync(tmp, apiFile(dir));
}

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
};
export const sleepSync = (ms: number): void => void (ms > 0 && Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms));

function lock(dir: string, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(lockFile(dir), "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(lockFile(dir), "utf8"));
    } catch {
      continue; // released between our open and read
    }
    if (holder && !pidAlive(holder)) {
      try {
        unlinkSync(lockFile(dir));
      } catch {
        // someone else broke it first
      }
      continue;
    }
    if (Date.now() > deadline) throw new Error(`the lab's API state is locked by pid ${holder} (${lockFile(dir)})`);
    sleepSync(20);
  }
}

/** Runs `change` on the current objects under the lock and writes the result if `change` returns true. */
export function updateApi<T>(dir: string, change: (api: ApiState) => { write: boolean; value: T }, timeoutMs = 120_000): T {
  lock(dir, timeoutMs);
  try {
    const api = readApi(dir);
    if (!api) throw new Error(`no lab API state in ${dir}: is the lab up?`);
    const { write, value } = change(api);
    if (write) writeApi(dir, api);
    return value;
  } finally {
    unlinkSync(lockFile(dir));
  }
}
