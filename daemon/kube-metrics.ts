// Prometheus metrics of weftd's Kubernetes API watches, read from the informers when scraped (their
// counters are the truth; nothing to keep in step). Registered only when weftd uses the API.
import { Counter, Gauge, type Registry } from "prom-client";
import type { Informer } from "../kube/informer.js";
import type { KubeObject } from "../kube/resources.js";

export function registerKubeWatchMetrics(registry: Registry, informers: () => Informer<KubeObject>[]): void {
  new Gauge({
    name: "weft_kube_watch_synced",
    help: "1 once the watch of a resource has listed it in full (0 before, and for a resource the API server does not serve)",
    labelNames: ["resource"],
    registers: [registry],
    collect() {
      for (const i of informers()) this.set({ resource: i.name }, i.hasSynced ? 1 : 0);
    },
  });
  new Gauge({
    name: "weft_kube_objects",
    help: "Objects of each resource in weftd's copy of the Kubernetes API",
    labelNames: ["resource"],
    registers: [registry],
    collect() {
      for (const i of informers()) this.set({ resource: i.name }, i.store.size);
    },
  });
  new Counter({
    name: "weft_kube_watch_events_total",
    help: "Watch events received, by resource and type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR)",
    labelNames: ["resource", "type"],
    registers: [registry],
    collect() {
      this.reset();
      for (const i of informers()) for (const [type, n] of Object.entries(i.counters.events)) this.inc({ resource: i.name, type }, n);
    },
  });
  new Counter({
    name: "weft_kube_relists_total",
    help: "Full lists after the first, by resource and why (expired: the watch's resourceVersion was gone, 410)",
    labelNames: ["resource", "reason"],
    registers: [registry],
    collect() {
      this.reset();
      for (const i of informers()) for (const [reason, n] of Object.entries(i.counters.relists)) this.inc({ resource: i.name, reason }, n ?? 0);
    },
  });
}
