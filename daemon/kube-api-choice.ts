// Which Kubernetes API weftd watches, if any: the --kubeconfig it is given, else the pod's service
// account when it runs in one, else none (it runs the network alone, as before the API was used).
import { inClusterAvailable, type InClusterOptions } from "../kube/in-cluster.js";
import type { Registry } from "prom-client";
import type { DaemonConfig } from "./config.js";
import type { KubeWatches } from "./kube-watches.js";
import type { Logger } from "./log.js";

export type KubeApiChoice = { kind: "kubeconfig"; file: string } | { kind: "in-cluster" } | { kind: "none"; why: string };

export function chooseKubeApi(cfg: Pick<DaemonConfig, "kubeconfig" | "kubeApi">, inCluster: InClusterOptions = {}): KubeApiChoice {
  if (cfg.kubeApi === "off") return { kind: "none", why: "--kube-api off" };
  if (cfg.kubeconfig) return { kind: "kubeconfig", file: cfg.kubeconfig };
  if (inClusterAvailable(inCluster)) return { kind: "in-cluster" };
  return { kind: "none", why: "no --kubeconfig, and not in a pod with a service account token" };
}

/** The watches of the chosen API, started; undefined (said in one info line) when there is none. */
export async function startKubeWatches(cfg: Pick<DaemonConfig, "kubeconfig" | "kubeApi" | "resyncInterval">, registry: Registry, log: Logger): Promise<KubeWatches | undefined> {
  const choice = chooseKubeApi(cfg);
  if (choice.kind === "none") {
    log.info({ why: choice.why }, "no Kubernetes API: the network runs without its pods, namespaces and policies");
    return undefined;
  }
  // Loaded only now: a weftd without the API never loads the client or its YAML parser.
  const { KubeWatches, connectionFor } = await import("./kube-watches.js");
  const graceMs = Math.max(30_000, 3 * cfg.resyncInterval * 1000);
  const watches = new KubeWatches(connectionFor(choice), registry, log, { graceMs });
  watches.start();
  return watches;
}
