// Where the proxy, cluster DNS and the ingress controller read the cluster from when they are given
// an API server: one informer per kind (list, then watch), and the objects of every kind handed to
// `onChange` once all have synced and after each change — a burst of events coalesced into one call,
// as kube-proxy's sync runner rate-limits its syncs.
import { KubeClient } from "../kube/client.js";
import { loadKubeconfig } from "../kube/config.js";
import { Informer } from "../kube/informer.js";
import type { KubeObject, ResourceType } from "../kube/resources.js";

const COALESCE_MS = 20;

export interface ApiWatch {
  /** Stops every informer and frees the client's sockets. */
  stop(): Promise<void>;
}

/**
 * Watches `kinds` through the API server `kubeconfig` names; `onChange` gets each kind's objects.
 * `onError`: a watch failing (the informer retries by itself; this only reports).
 */
export function watchApiObjects<K extends string>(kubeconfig: string, kinds: Record<K, ResourceType>, onChange: (objects: Record<K, KubeObject[]>) => void, onError: (err: Error) => void, userAgent = "weft-lab"): ApiWatch {
  const client = new KubeClient(loadKubeconfig(kubeconfig), { userAgent });
  let timer: NodeJS.Timeout | undefined;
  let ready = false;
  const informers = (Object.entries(kinds) as [K, ResourceType][]).map(([name, type]) => {
    const inf = new Informer<KubeObject>(client, type, {
      handlers: { onAdd: () => schedule(), onUpdate: () => schedule(), onDelete: () => schedule() },
      log: { info: () => undefined, debug: () => undefined, warn: (fields, msg) => onError(new Error(`${name}: ${msg} ${JSON.stringify(fields)}`)) },
    });
    return [name, inf] as const;
  });
  const emit = (): void => {
    timer = undefined;
    onChange(Object.fromEntries(informers.map(([name, inf]) => [name, inf.store.list()])) as Record<K, KubeObject[]>);
  };
  function schedule(): void {
    if (ready && !timer) timer = setTimeout(emit, COALESCE_MS);
  }
  for (const [, inf] of informers) inf.start();
  void Promise.all(informers.map(([, inf]) => inf.synced())).then(() => {
    ready = true;
    emit();
  });
  return {
    async stop() {
      if (timer) clearTimeout(timer);
      await Promise.all(informers.map(([, inf]) => inf.stop()));
      client.close();
    },
  };
}
