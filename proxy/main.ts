// weft-proxy: the lab's kube-proxy. One per node, in the node's network namespace; reads Services and
// EndpointSlices and programs the node in the chosen mode (iptables, nftables, userspace; ipvs where
// the kernel has it), with one proxier per IP family that has a cluster CIDR, each syncing on its
// own. Logs one JSON line per event, naming the family.
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { FamilySyncLoop, type Log } from "./family-sync.js";
import { createProxier, PROXY_MODES, proxierOptions, type ProxyMode } from "./modes.js";
import { LbSpeaker } from "./lb-speaker.js";
import { ipFamilyOf, type ClusterState } from "./model.js";
import { ProxyConfigError, ProxyModeUnavailableError } from "./proxier.js";
import { servicePorts } from "./service-ports.js";
import { watchClusterState, watchClusterStateFromApi } from "./state-source.js";

const log: Log = (level, msg, fields) => console.log(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .scriptName("weft-proxy")
    .usage("weft-proxy: programs Services on this node (the lab's kube-proxy)")
    .options({
      "node-name": { type: "string", demandOption: true, describe: "this node's name (endpoints on it are local)" },
      "proxy-mode": { choices: PROXY_MODES, default: "iptables" as ProxyMode },
      "cluster-cidr": { type: "string", default: "10.244.0.0/16", describe: "the pod network, one CIDR per family (\"10.244.0.0/16,fd00:10:244::/56\"); a proxier runs for each family given; other sources to a cluster IP are masqueraded" },
      "node-ip": { type: "string", describe: "this node's addresses, one per family (userspace mode's portals; the first for the LoadBalancer speaker)" },
      kubeconfig: { type: "string", describe: "watch Services, EndpointSlices, Pods and Nodes through the API server this kubeconfig names" },
      "cluster-state": { type: "string", describe: "or read them from this JSON file (a proxy without a cluster)" },
      "sync-period": { type: "number", default: 30, describe: "seconds between full re-syncs that repair drift" },
      "lb-speaker-iface": { type: "string", describe: "announce LoadBalancer addresses on this interface (MetalLB's layer 2 mode); needs --node-ip" },
    })
    .check((a) => (a.kubeconfig || a["cluster-state"] ? true : "give --kubeconfig (the API server) or --cluster-state (a file)"))
    .strict()
    .parseAsync();
  const node = args["node-name"];
  const mode = args["proxy-mode"];
  let loops: FamilySyncLoop[];
  try {
    loops = proxierOptions(mode, args["cluster-cidr"], args["node-ip"]).map((opts) => new FamilySyncLoop(createProxier(mode, opts), log, { node }));
    for (const loop of loops) loop.start();
  } catch (err) {
    if (err instanceof ProxyModeUnavailableError || err instanceof ProxyConfigError) {
      console.error(`weft-proxy: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const families = loops.map((l) => l.family);
  for (const loop of loops) log("info", "proxy started", { node, mode, family: loop.family });
  const iface = args["lb-speaker-iface"];
  // The speaker announces from the first node address, as before dual-stack.
  const speakerIp = (args["node-ip"] ?? "").split(",")[0]?.trim();
  const speaker = iface && speakerIp ? new LbSpeaker(node, speakerIp, iface, (msg, fields) => log("info", msg, { family: ipFamilyOf(speakerIp), ...(fields as Record<string, unknown>) })) : undefined;
  speaker?.start();
  const kubeconfig = args.kubeconfig;
  const stop = (kubeconfig ? (on: (s: ClusterState) => void, err: (e: Error) => void) => watchClusterStateFromApi(kubeconfig, on, err) : (on: (s: ClusterState) => void, err: (e: Error) => void) => watchClusterState(args["cluster-state"] ?? "", on, err))(
    (state) => {
      speaker?.update(state);
      for (const loop of loops) void loop.update(servicePorts(state, node, loop.family));
    },
    (err) => log("warn", "cannot read the cluster state", { node, families, error: err.message }),
  );
  const repair = setInterval(() => {
    for (const loop of loops) void loop.repair();
  }, args["sync-period"] * 1000);
  const shutdown = (): void => {
    // Rules stay in place, as kube-proxy leaves them: established and new connections keep working.
    stop();
    clearInterval(repair);
    for (const loop of loops) loop.stop();
    speaker?.stop();
    log("info", "proxy stopped", { node, mode, families });
    process.exit(0);
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

void main();
