// How weftd runs network policy: with a Kubernetes API, an enforcer over its watches and the plugin's
// records; without one, no policy table (an old one, left by a weftd that had an API, is removed and
// that is said once).
import type { Registry } from "prom-client";
import { nftGeneration, NflogReader } from "../netlink/index.js";
import type { DaemonConfig } from "./config.js";
import { execHere, type Exec } from "./exec.js";
import type { KubeWatches } from "./kube-watches.js";
import type { Logger } from "./log.js";
import type { PodRecords } from "./pod-records.js";
import { withPolicyCounters, PolicyCounters } from "./policy-counters.js";
import { NetlinkElementWriter } from "./policy-elements.js";
import { PolicyEnforcer } from "./policy-enforcer.js";
import { DropLogger } from "./policy-drop-log.js";
import { DropLogMetrics, PolicyMetrics } from "./policy-metrics.js";
import { withDropLogging, type DropRuleInfo } from "./policy/drop-log.js";
import { withNewPodHold } from "./policy/new-pod-hold.js";
import { cutDeniedFlows, resumeCutFlows } from "./policy-strict.js";
import { PolicyTable } from "./policy-table.js";

export interface PolicyWiring {
  kube: KubeWatches | undefined;
  cfg: Pick<DaemonConfig, "nodeName" | "policyStrict" | "policyLogGroup" | "policyLogRate" | "policyNewPodHoldMs">;
  pods: PodRecords;
  underlay: () => string[];
  registry: Registry;
  log: () => Logger;
  exec?: Exec;
}

const generation = (): number => nftGeneration();
/** Each log rule's kernel limit (burst twice that): a flood against one rule costs the node little before weftd's own cap. */
const RULE_LOG_RATE = 10;

export async function startPolicy(w: PolicyWiring): Promise<PolicyEnforcer | undefined> {
  const exec = w.exec ?? execHere;
  // Set elements over netlink in weftd's namespace; a test's own exec writes them with nft through it.
  const table = new PolicyTable(exec, generation, w.exec ? undefined : new NetlinkElementWriter());
  if (!w.kube) {
    const removed = await table.remove().catch((err: Error) => (w.log().error({ err: err.message }, "could not remove an old network policy table"), false));
    if (removed) w.log().warn("no Kubernetes API: removed the network policy table an earlier weftd left; pods are not isolated");
    return undefined;
  }
  const counters = new PolicyCounters(w.registry);
  const dropLog = new DropLogger({ group: w.cfg.policyLogGroup, linesPerSecond: w.cfg.policyLogRate, open: (group) => NflogReader.open(group), metrics: new DropLogMetrics(w.registry), log: w.log });
  let logRules = new Map<string, DropRuleInfo>();
  const enforcer = new PolicyEnforcer({
    kube: w.kube,
    table,
    records: () => w.pods.list(),
    recordDirs: () => w.pods.storeDirs(),
    nodeNameFlag: w.cfg.nodeName,
    underlay: w.underlay,
    metrics: new PolicyMetrics(w.registry),
    log: w.log,
    decorate: (compiled, cluster, node) => {
      const counted = withPolicyCounters(compiled, cluster);
      counters.follow(counted);
      // After the counters: their per-policy attribution drops get log twins too.
      const logged = withDropLogging(counted, cluster, node, { group: w.cfg.policyLogGroup, ratePerSecond: RULE_LOG_RATE });
      dropLog.follow(logged.rules, cluster);
      logRules = logged.rules;
      return withNewPodHold(logged.ruleset, w.cfg.policyNewPodHoldMs);
    },
    // The rules (and so the counters and log prefixes) are the last compile's; the pods a line names are not.
    afterElements: (cluster) => {
      if (logRules.size > 0) dropLog.follow(logRules, cluster);
    },
    onStop: () => dropLog.stop(),
    ...(w.cfg.policyStrict ? { afterApply: (cluster, node) => cutDeniedFlows(cluster, exec, w.log(), node) } : {}),
  });
  enforcer.start();
  if (!w.cfg.policyStrict) void resumeCutFlows(exec, w.log());
  w.log().info({ strict: w.cfg.policyStrict, nodeName: w.cfg.nodeName ?? "from the Node with this node's address" }, "enforcing network policy in table inet weft-policy");
  return enforcer;
}
