// ADD: bridge, veth pair (pod side born in the pod's namespace), an IP of each of the node's families
// from its store (IPv4, IPv6, or both), addresses, routes, hairpin. Any failure undoes what was done, in reverse: a failed ADD leaves nothing behind.
import { firstAddress, PodIpStore, type PodAllocation } from "../ipam/pod-ip-store.js";
import { ExistsError, NotFoundError, openHandle, setLinkSysctl, type Link, type NetlinkHandle } from "../netlink/index.js";
import { ensureBridge } from "./bridge.js";
import { crashPoint } from "./crash-point.js";
import type { WeftConfig } from "./config.js";
import type { CniEnv } from "./env.js";
import type { PluginLog } from "./log.js";
import { listPod, unlistPods } from "./pod-filter.js";
import { holdNewPod } from "./policy-hold.js";
import { hostVethName, podFilterEntries, podMacFor } from "../ipam/attachment.js";
import { nodeFamilies, readNodeSubnet, type FamilySubnet, type NodeSubnet } from "./node-subnet.js";
import { isDefaultRoute, type CniResult, type CniRoute } from "./spec.js";

/** A route per family: the default one through the node's gateway, or the cluster's network when isDefaultGateway is false. */
export function podRoutes(conf: WeftConfig, node: NodeSubnet): CniRoute[] {
  return nodeFamilies(node).map(([family, part]) => ({ dst: conf.isDefaultGateway ? (family === 6 ? "::/0" : "0.0.0.0/0") : part.network, gw: part.gateway }));
}

/** One family's address for the pod, from that family's store. */
interface FamilyAllocation {
  family: 4 | 6;
  part: FamilySubnet;
  alloc: PodAllocation;
}

function configurePod(pod: NetlinkHandle, index: number, allocs: PodAllocation[], routes: CniRoute[]): void {
  for (const a of allocs) pod.addrAdd(index, `${a.ip}/${a.prefixLen}`);
  pod.linkSetUp(index);
  for (const r of routes) pod.routeAdd({ dst: isDefaultRoute(r.dst) ? undefined : r.dst, ...(r.gw ? { gateway: r.gw } : {}), oif: index });
}

/** A pod with IPv6 takes no router advertisements: its routes are the ones the plugin sets. */
function refuseRouterAdvertisements(netns: string, ifname: string): void {
  setLinkSysctl(netns, "ipv6", ifname, "accept_ra", "0");
}

/**
 * Runs `add`; when it fails because a veth of this name exists (left by an earlier, interrupted ADD of
 * the same attachment), deletes that one and adds again. Looking first would cost every ADD a round trip.
 */
function replacingLeftover(host: NetlinkHandle, vethName: string, add: () => Link): Link {
  try {
    return add();
  } catch (err) {
    // The pod's interface name may be what exists, in the pod's namespace: that failure stands.
    if (!(err instanceof ExistsError) || !host.linkFind(vethName)) throw err;
    host.linkDelete(vethName);
    return add();
  }
}

export function cmdAdd(conf: WeftConfig, env: CniEnv, log: PluginLog): CniResult {
  const node = readNodeSubnet(conf.subnetFile);
  log.mark("subnet");
  const mtu = conf.mtu ?? node.mtu;
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
    const allocs: FamilyAllocation[] = [];
    for (const [family, part] of nodeFamilies(node)) {
      const store = new PodIpStore({ dataDir: conf.dataDir, network: conf.name, family });
      allocs.push({ family, part, alloc: store.allocate({ ...attachment, subnet: part.subnet, gateway: part.gateway, ...names }) });
      undo.push(() => store.release(attachment));
    }
    const addresses = { ipv4: allocs.find((a) => a.family === 4)?.alloc.ip, ipv6: allocs.find((a) => a.family === 6)?.alloc.ip };
    const ips = { ...(addresses.ipv4 ? { ipv4: addresses.ipv4 } : {}), ...(addresses.ipv6 ? { ipv6: addresses.ipv6 } : {}) };
    log.mark("ip");
    crashPoint("ip-reserved");

    const podMac = podMacFor(firstAddress(ips));
    // Born enslaved to the bridge; the pod end born in the pod's namespace with a MAC we already know.
    const addVeth = () => host.linkAddVeth(vethName, env.ifname, { peerNetnsPath: env.netns, mtu, masterIndex: bridge.index, peerMac: podMac });
    const veth = replacingLeftover(host, vethName, addVeth);
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
    const filterEntries = podFilterEntries({ ...attachment, ...ips });
    if (listPod(filterEntries, node.antiSpoofing, log)) undo.push(() => unlistPods(filterEntries, () => undefined));
    // Held before any link is up too: no packet reaches or leaves the pod before weftd has judged it.
    holdNewPod(allocs.map((a) => a.alloc.ip), node.policyNewPodHoldMs, log);
    host.linkSetUp(veth.index);
    log.mark("veth");

    pod = openHandle(env.netns);
    const routes = podRoutes(conf, node);
    if (ips.ipv6) refuseRouterAdvertisements(env.netns, env.ifname);
    // The host end's IFLA_LINK is the pod end's index in the pod's namespace: no lookup needed there.
    configurePod(pod, veth.parentIndex ?? pod.linkGet(env.ifname).index, allocs.map((a) => a.alloc), routes);
    log.mark("pod");
    log.info("pod attached", { ip: firstAddress(ips), ...(ips.ipv4 && ips.ipv6 ? { ipv6: ips.ipv6 } : {}), hostVeth: vethName, bridge: conf.bridge });
    const result: CniResult = {
      cniVersion: conf.cniVersion,
      interfaces: [
        { name: bridge.name, ...(bridge.mac ? { mac: bridge.mac } : {}) },
        { name: vethName, ...(veth.mac ? { mac: veth.mac } : {}) },
        { name: env.ifname, mac: podMac, sandbox: env.netns },
      ],
      ips: allocs.map((a) => ({ address: `${a.alloc.ip}/${a.alloc.prefixLen}`, gateway: a.part.gateway, interface: 2 })),
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
