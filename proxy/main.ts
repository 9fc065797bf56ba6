// weft-proxy: the lab's kube-proxy. One per node, in the node's network namespace; reads Services and
// EndpointSlices and programs the node in the chosen mode (iptables, nftables, userspace; ipvs where
// the kernel has it). Logs one JSON line per event.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { createProxier, PROXY_MODES, type ProxyMode } from "./modes.js";
import { LbSpeaker } from "./lb-speaker.js";
import { ProxyModeUnavailableError } from "./proxier.js";
import { servicePorts } from "./service-ports.js";
import { watchClusterState } from "./state-source.js";

const log = (level: string, msg: string, fields: Record<string, unknown> = {}): void => console.log(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .scriptName("weft-proxy")
    .usage("weft-proxy: programs Services on this node (the lab's kube-proxy)")
    .options({
      "node-name": { type: "string", demandOption: true, describe: "this node's name (endpoints on it are local)" },
      "proxy-mode": { choices: PROXY_MODES, default: "iptables" as ProxyMode },
      "cluster-cidr": { type: "string", default: "10.244.0.0/16", describe: "the pod network; other sources to a cluster IP are masqueraded" },
      "node-ip": { type: "string", describe: "this node's address (userspace mode's portals)" },
      "cluster-state": { type: "string", demandOption: true, describe: "JSON file of Services, EndpointSlices, Pods and Nodes" },
      "sync-period": { type: "number", default: 30, describe: "seconds between full re-syncs that repair drift" },
      "lb-speaker-iface": { type: "string", describe: "announce LoadBalancer addresses on this interface (MetalLB's layer 2 mode); needs --node-ip" },
    })
    .strict()
    .parseAsync();
  const node = args["node-name"];
  let proxier;
  try {
    proxier = createProxier(args["proxy-mode"], { clusterCidr: args["cluster-cidr"], nodeIp: args["node-ip"] ?? "" });
    proxier.init();
  } catch (err) {
    if (err instanceof ProxyModeUnavailableError) {
      console.error(`weft-proxy: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  log("info", "proxy started", { node, mode: proxier.mode });
  const iface = args["lb-speaker-iface"];
  const speaker = iface && args["node-ip"] ? new LbSpeaker(node, args["node-ip"], iface, (msg, fields) => log("info", msg, fields as Record<string, unknown>)) : undefined;
  speaker?.start();
  let last = "";
  let latest: ReturnType<typeof servicePorts> = [];
  // Syncs run one at a time, in order; a change during a sync is applied right after it.
  let queue = Promise.resolve();
  const sync = (reason: string): Promise<void> => (queue = queue.then(() => syncNow(reason)));
  // One retry pending at most, backing off from 1 s to 30 s, so a rule the kernel refuses does not
  // turn into a busy loop (each change or periodic sync would otherwise start another retry chain).
  let retry: NodeJS.Timeout | undefined;
  let backoffMs = 1_000;
  const syncNow = async (reason: string): Promise<void> => {
    try {
      const stats = await proxier.sync(latest);
      backoffMs = 1_000;
      clearTimeout(retry);
      retry = undefined;
      log("info", "rules synced", { node, mode: proxier.mode, reason, servicePorts: latest.length, endpoints: latest.reduce((n, p) => n + p.endpoints.length, 0), written: stats.written, bytes: stats.bytes, ms: Math.round(stats.ms * 10) / 10 });
    } catch (err) {
      log("error", "rule sync failed; will retry", { node, mode: proxier.mode, reason, error: (err as Error).message, retryInMs: backoffMs });
      proxier.invalidate();
      if (retry) return;
      retry = setTimeout(() => {
        retry = undefined;
        void sync("retry");
      }, backoffMs);
      retry.unref();
      backoffMs = Math.min(backoffMs * 2, 30_000);
    }
  };
  const stop = watchClusterState(
    args["cluster-state"],
    (state) => {
      speaker?.update(state);
      latest = servicePorts(state, node);
      const key = JSON.stringify(latest);
      if (key === last) return;
      last = key;
      void sync("change");
    },
    (err) => log("warn", "cannot read the cluster state", { node, error: err.message }),
  );
  const repair = setInterval(() => {
    proxier.invalidate();
    void sync("periodic");
  }, args["sync-period"] * 1000);
  const shutdown = (): void => {
    // Rules stay in place, as kube-proxy leaves them: established and new connections keep working.
    stop();
    clearInterval(repair);
    proxier.stop?.();
    speaker?.stop();
    log("info", "proxy stopped", { node });
    process.exit(0);
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

void main();
