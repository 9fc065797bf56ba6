// ADD: bridge, veth pair (pod side born in the pod's namespace), IP from the node store, address,
// routes, hairpin. Any failure undoes what was done, in reverse: a failed ADD leaves nothing behind.
import { PodIpStore, type PodAllocation } from "../ipam/pod-ip-store.js";
import { NotFoundError, openHandle, type NetlinkHandle } from "../netlink/index.js";
import { ensureBridge } from "./bridge.js";
import { crashPoint } from "./crash-point.js";
import type { WeftConfig } from "./config.js";
import type { CniEnv } from "./env.js";
import type { PluginLog } from "./log.js";
import { listPod, unlistPods } from "./pod-filter.js";
import { hostVethName, podFilterEntry, podMacFor } from "../ipam/attachment.js";
import { readNodeSubnet, type NodeSubnet } from "./node-subnet.js";
import type { CniResult, CniRoute } from "./spec.js";

export function podRoutes(conf: WeftConfig, node: NodeSubnet): CniRoute[] {
  return conf.isDefaultGateway ? [{ dst: "0.0.0.0/0", gw: node.gateway }] : [{ dst: node.network, gw: node.gateway }];
}

function configurePod(pod: NetlinkHandle, index: number, alloc: PodAllocation, routes: CniRoute[]): void {
  pod.addrAdd(index, `${alloc.ip}/${alloc.prefixLen}`);
  pod.linkSetUp(index);
  for (const r of routes) pod.routeAdd({ dst: r.dst === "0.0.0.0/0" ? undefined : r.dst, gateway: r.gw, oif: index });
}

export function cmdAdd(conf: WeftConfig, env: CniEnv, log: PluginLog): CniResult {
  const node = readNodeSubnet(conf.subnetFile);
  log.mark("subnet");
  const mtu = conf.mtu ?? node.mtu;
  const store = new PodIpStore({ dataDir: conf.dataDir, network: conf.name });
  const attachment = { containerId: env.containerId, ifname: env.ifname };
  const vethName = hostVethName(env.containerId, env.ifname);
  const undo: (() => void)[] = [];
  const host = openHandle();
  let pod: NetlinkHandle | undefined;
  try {
    log.mark("netlink");
    const bridge = ensureBridge(host, conf.bridge, node, log);
    log.mark("bridge");
    const podName = env.args.get("K8S_POD_NAME");
    const podNamespace = env.args.get("K8S_POD_NAMESPACE");
    const alloc = store.allocate({ ...attachment, subnet: node.subnet, gateway: node.gateway, ...(podName ? { podName } : {}), ...(podNamespace ? { podNamespace } : {}) });
    undo.push(() => store.release(attachment));
    log.mark("ip");
    crashPoint("ip-reserved");

    // A veth left by an earlier, interrupted ADD of the same attachment is replaced.
    if (host.linkFind(vethName)) host.linkDelete(vethName);
    const podMac = podMacFor(alloc.ip);
    // Born enslaved to the bridge; the pod end born in the pod's namespace with a MAC we already know.
    const veth = host.linkAddVeth(vethName, env.ifname, { peerNetnsPath: env.netns, mtu, masterIndex: bridge.index, peerMac: podMac });
    undo.push(() => {
      try {
        host.linkDelete(vethName);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    });
    crashPoint("veth-created");
    if (conf.hairpinMode) host.linkSetHairpin(veth.index, true);
    // Listed before any link is up: the pod's first frame already finds its entry.
    const filterEntry = podFilterEntry({ ...attachment, ip: alloc.ip });
    if (listPod(filterEntry, node.antiSpoofing, log)) undo.push(() => unlistPods([filterEntry], () => undefined));
    host.linkSetUp(veth.index);
    log.mark("veth");

    pod = openHandle(env.netns);
    const routes = podRoutes(conf, node);
    // The host end's IFLA_LINK is the pod end's index in the pod's namespace: no lookup needed there.
    configurePod(pod, veth.parentIndex ?? pod.linkGet(env.ifname).index, alloc, routes);
    log.mark("pod");
    log.info("pod attached", { ip: alloc.ip, hostVeth: vethName, bridge: conf.bridge });
    const result: CniResult = {
      cniVersion: conf.cniVersion,
      interfaces: [
        { name: bridge.name, ...(bridge.mac ? { mac: bridge.mac } : {}) },
        { name: vethName, ...(veth.mac ? { mac: veth.mac } : {}) },
        { name: env.ifname, mac: podMac, sandbox: env.netns },
      ],
      ips: [{ address: `${alloc.ip}/${alloc.prefixLen}`, gateway: node.gateway, interface: 2 }],
      routes,
    };
    if (conf.dns) result.dns = conf.dns;
    return result;
  } catch (err) {
    for (const step of undo.reverse()) {
      try {
        step();
      } catch (undoErr) {
        log.error("rollback step failed", { error: (undoErr as Error).message });
      }
    }
    throw err;
  } finally {
    pod?.close();
    host.close();
  }
}
