// Network policy's metrics in weftd's registry.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export class PolicyMetrics {
  readonly syncSeconds: Histogram;
  readonly applies: Counter<"kind" | "result">;
  readonly drifts: Counter;
  readonly unknownPods: Counter;
  readonly newPodSeconds: Histogram;

  constructor(registry: Registry) {
    const registers = [registry];
    this.syncSeconds = new Histogram({ name: "weft_policy_sync_seconds", help: "From a coalesced change to the policy table applied: build, compile (or a pod change's elements), the write", buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers });
    this.applies = new Counter({ name: "weft_policy_applies_total", help: "Writes of the policy table: kind full (the whole table), diff (one nft transaction of changes) or elements (a change of pods only: set elements over netlink, no compile); result ok or error", labelNames: ["kind", "result"], registers });
    this.drifts = new Counter({ name: "weft_policy_drift_repairs_total", help: "Times the kernel's policy table differed from what weftd applied and was written whole again", registers });
    this.unknownPods = new Counter({ name: "weft_policy_unknown_local_pods_total", help: "Pods on this node whose IP record named no pod the Kubernetes API's view held (unjudged until it did)", registers });
    this.newPodSeconds = new Histogram({ name: "weft_policy_new_pod_seconds", help: "From the plugin's IP allocation (during CNI ADD) to the pod's address in the policy table", buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5], registers });
  }
}

/** Drop logging's metrics: lines written, lines weftd's own cap held back, the kernel's overruns, whether the group is read. */
export class DropLogMetrics {
  readonly lines: Counter;
  readonly suppressed: Counter;
  readonly overruns: Counter;
  readonly reading: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.lines = new Counter({ name: "weft_policy_drop_log_lines_total", help: "Lines weftd logged for packets network policy dropped (pods in namespaces annotated weft.dev/policy-log)", registers });
    this.suppressed = new Counter({ name: "weft_policy_drop_log_suppressed_total", help: "Dropped packets the kernel logged that weftd did not write a line for: over --policy-log-rate", registers });
    this.overruns = new Counter({ name: "weft_policy_drop_log_overruns_total", help: "Times the NFLOG socket's buffer overflowed and the kernel discarded logged packets", registers });
    this.reading = new Gauge({ name: "weft_policy_drop_log_reading", help: "1 while weftd reads its NFLOG group (--policy-log-group); 0 before a namespace asks for drop logging, or when the group could not be bound", registers });
  }
}
