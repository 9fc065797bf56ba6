// ADD: bridge, veth pair (pod side born in the pod's namespace), IP from the node store (and an IPv6
// one on a dual-stack node), addresses, routes, hairpin. Any failure undoes what was done, in reverse: a failed ADD leaves nothing behind.
import { PodIpStore, type PodAllocation } from "../ipam/pod-ip-store.js";
import { NotFoundError, openHandle, setLinkSysctl, type NetlinkHandle } from "../netlink/index.js";
import { ensureBridge } from "./bridge.js";
import { crashPoint } from "./crash-point.js";
import type { WeftConfig } from "./config.js";
import type { CniEnv } from "./env.js";
import type { PluginLog } from "./log.js";
import { listPod, unlistPods } from "./pod-filter.js";
import { hostVethName, podFilterEntries, podMacFor } from "../ipam/attachment.js";
import { readNodeSubnet, type NodeSubnet } from "./node-subnet.js";
import { isDefaultRoute, type CniResult, type CniRoute } from "./spec.js";

export function podRoutes(conf: WeftConfig, node: NodeSubnet): CniRoute[] {
  const v4: CniRoute = conf.isDefaultGateway ? { dst: "0.0.0.0/0", gw: node.gateway } : { dst: node.network, gw: node.gateway };
  const v6 = node.ipv6;
  return v6 ? [v4, conf.isDefaultGateway ? { dst: "::/0", gw: v6.gateway } : { dst: v6.network, gw: v6.gateway }] : [v4];
}

function configurePod(pod: NetlinkHandle, index: number, allocs: PodAllocation[], routes: CniRoute[]): void {
  for (const a of allocs) pod.addrAdd(index, `${a.ip}/${a.prefixLen}`);
  pod.linkSetUp(index);
  for (const r of routes) pod.routeAdd({ dst: isDefaultRoute(r.dst) ? undefined : r.dst, ...(r.gw ? { gateway: r.gw } : {}), oif: index });
}

/** A dual-stack pod takes no router advertisements: its routes are the ones the plugin sets. */
function refuseRouterAdvertisements(netns: string, ifname: string): void {
  setLinkSysctl(netns, "ipv6", ifname, "accept_ra", "0");
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
    const names = { ...(podName ? { podName } : {}), ...(podNamespace ? { podNamespace } : {}) };
    const alloc = store.allocate({ ...attachment, subnet: node.subnet, gateway: node.gateway, ...names });
    undo.push(() => store.release(attachment));
    let alloc6: PodAllocation | undefined;
    if (node.ipv6) {
      const store6 = new PodIpStore({ dataDir: conf.dataDir, network: conf.name, family: 6 });
      alloc6 = store6.allocate({ ...attachment, subnet: node.ipv6.subnet, gateway: node.ipv6.gateway, ...names });
      undo.push(() => store6.release(attachment));
    }
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
    const filterEntries = podFilterEntries({ ...attachment, ip: alloc.ip, ...(alloc6 ? { ipv6: alloc6.ip } : {}) });
    if (listPod(filterEntries, node.antiSpoofing, log)) undo.push(() => unlistPods(filterEntries, () => undefined));
    host.linkSetUp(veth.index);
    log.mark("veth");

    pod = openHandle(env.netns);
    const routes = podRoutes(conf, node);
    if (alloc6) refuseRouterAdvertisements(env.netns, env.ifname);
    // The host end's IFLA_LINK is the pod end's index in the pod's namespace: no lookup needed there.
    configurePod(pod, veth.parentIndex ?? pod.linkGet(env.ifname).index, alloc6 ? [alloc, alloc6] : [alloc], routes);
    log.mark("pod");
    log.info("pod attached", { ip: alloc.ip, ...(alloc6 ? { ipv6: alloc6.ip } : {}), hostVeth: vethName, bridge: conf.bridge });
    const result: CniResult = {
      cniVersion: conf.cniVersion,
      interfaces: [
        { name: bridge.name, ...(bridge.mac ? { mac: bridge.mac } : {}) },
        { name: vethName, ...(veth.mac ? { mac: veth.mac } : {}) },
        { name: env.ifname, mac: podMac, sandbox: env.netns },
      ],
      ips: [{ address: `${alloc.ip}/${alloc.prefixLen}`, gateway: node.gateway, interface: 2 }, ...(alloc6 && node.ipv6 ? [{ address: `${alloc6.ip}/${alloc6.prefixLen}`, gateway: node.ipv6.gateway, interface: 2 }] : [])],
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
