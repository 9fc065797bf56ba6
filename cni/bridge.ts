// The node's bridge (cni0): created on first use, holding the node's gateway address of each family. When the node's subnet changed (a new lease), the stale gateway
// address is replaced instead of failing as flannel's "cni0 already has an IP address different from …".
import { ExistsError, setLinkSysctl, type Link, type NetlinkHandle } from "../netlink/index.js";
import { podMacFor } from "../ipam/attachment.js";
import type { PluginLog } from "./log.js";
import { nodeFamilies, type NodeSubnet } from "./node-subnet.js";
import { CNI_ERROR, CniError } from "./errors.js";

export function ensureBridge(host: NetlinkHandle, name: string, node: NodeSubnet, log: PluginLog): Link {
  let bridge = host.linkFind(name);
  // The bridge's MAC is fixed, derived from the gateway address as a pod's is from its own (0a:58 + the
  // four bytes, as kubenet and OVN-Kubernetes do). A bridge whose MAC is not set explicitly takes the
  // lowest MAC of its ports, so it changed whenever a pod with a lower veth MAC came or went — and
  // every pod's ARP entry for its gateway went stale: seconds of lost traffic for uninvolved pods.
  const families = nodeFamilies(node);
  const mac = podMacFor(families[0]?.[1].gateway ?? "");
  if (!bridge) {
    try {
      bridge = host.linkAddBridge(name, { mtu: node.mtu, mac });
      // No duplicate address detection on the bridge: while its link-local address is tentative the
      // node resolves no pod's IPv6 address (the first pod's IPv6 went unanswered for ~2 s).
      if (node.ipv6) setLinkSysctl(undefined, "ipv6", name, "accept_dad", "0");
      log.info("created bridge", { bridge: name });
    } catch (err) {
      if (!(err instanceof ExistsError)) throw err;
      bridge = host.linkGet(name); // a concurrent ADD created it first
    }
  }
  if (bridge.kind !== "bridge")
    throw new CniError(CNI_ERROR.INVALID_CONFIG, `interface "${name}" exists but is a ${bridge.kind ?? "plain device"}, not a bridge`, "choose another \"bridge\" name in the conflist or remove that interface");
  for (const [family, part] of families) ensureGatewayAddress(host, bridge, family, `${part.gateway}/${part.prefixLen}`, log);
  if (bridge.mac !== mac) {
    // Made by an older version, or the node's subnet changed: set once, and from then on it stays.
    host.linkSetMac(bridge.index, mac);
    log.info("set the bridge's MAC", { bridge: name, mac });
  }
  if (!bridge.up) host.linkSetUp(bridge.index);
  return bridge;
}

/** The bridge holds `want` as its one address of the family (link-local IPv6 aside): a stale one is replaced. */
function ensureGatewayAddress(host: NetlinkHandle, bridge: Link, family: 4 | 6, want: string, log: PluginLog): void {
  const have = host.addrList(bridge.index, family).filter((a) => a.scope !== "link");
  if (have.some((a) => `${a.address}/${a.prefixLen}` === want)) return;
  for (const stale of have) {
    host.addrDel(bridge.index, `${stale.address}/${stale.prefixLen}`);
    log.info("replaced stale bridge address", { bridge: bridge.name, stale: `${stale.address}/${stale.prefixLen}`, gateway: want });
  }
  try {
    host.addrAdd(bridge.index, want);
  } catch (err) {
    if (!(err instanceof ExistsError)) throw err;
  }
}
