// Where the proxy and DNS read the cluster from: the API server (its watches, as kube-proxy and
// CoreDNS read it), or a JSON file of Kubernetes objects (for a proxy run alone, without a cluster),
// whose changes are noticed by fs.watch on the directory and, as a fallback, by polling its mtime.
import { readFileSync, statSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { ENDPOINT_SLICES, NODES, SERVICES } from "../kube/kinds.js";
import { PODS } from "../kube/resources.js";
import { watchApiObjects } from "./api-source.js";
import type { ClusterState } from "./model.js";

/** The kinds a ClusterState holds, as the API serves them. */
export const CLUSTER_STATE_KINDS = { services: SERVICES, endpointSlices: ENDPOINT_SLICES, pods: PODS, nodes: NODES };

/** As watchClusterState, from the API server the kubeconfig names. */
export function watchClusterStateFromApi(kubeconfig: string, onChange: (s: ClusterState) => void, onError: (err: Error) => void): () => void {
  const w = watchApiObjects(kubeconfig, CLUSTER_STATE_KINDS, (o) => onChange(o as unknown as ClusterState), onError);
  return () => void w.stop();
}

export function readClusterState(file: string): ClusterState {
  const raw = JSON.parse(readFileSync(file, "utf8")) as Partial<ClusterState>;
  return { services: raw.services ?? [], endpointSlices: raw.endpointSlices ?? [], pods: raw.pods ?? [], nodes: raw.nodes ?? [] };
}

/** Calls `onChange` with the state now and after every change (coalesced), until the returned stop(). */
export function watchClusterState(file: string, onChange: (s: ClusterState) => void, onError: (err: Error) => void, pollMs = 250): () => void {
  return watchFile(file, readClusterState, onChange, onError, pollMs);
}

/** Calls `onChange` with `read(file)` now and after every change of the file (coalesced), until stop(). */
export function watchFile<T>(file: string, read: (file: string) => T, onChange: (value: T) => void, onError: (err: Error) => void, pollMs = 250): () => void {
  let lastStamp = "";
  const check = (): void => {
    let stamp: string;
    try {
      const st = statSync(file);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") onError(err as Error);
      return;
    }
    if (stamp === lastStamp) return;
    lastStamp = stamp;
    try {
      onChange(read(file));
    } catch (err) {
      lastStamp = ""; // read again next time
      onError(err as Error);
    }
  };
  const watcher = watch(dirname(file), (_event, name) => {
    if (name === basename(file)) check();
  });
  const timer = setInterval(check, pollMs);
  check();
  return () => {
    watcher.close();
    clearInterval(timer);
  };
}
