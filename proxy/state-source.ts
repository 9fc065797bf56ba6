// Where the proxy and DNS read the cluster from: a JSON file of Kubernetes objects that the lab's
// control plane rewrites atomically (a real cluster's API watch, reduced to its essentials). A change
// is noticed by fs.watch on the directory and, as a fallback, by polling the file's mtime.
import { readFileSync, statSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import type { ClusterState } from "./model.js";

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
