// The node's own switches for pod traffic: IP forwarding per family of the network, and bridge
// netfilter, without which Service traffic between two pods on one bridge skips iptables/nftables
// (ip6tables for IPv6) and the reply misses kube-proxy's conntrack un-DNAT: the client drops it.
import { readSysctl, setSysctl } from "../netlink/index.js";
import type { Logger } from "./log.js";

export function enableForwarding(families: (4 | 6)[], log: Logger): void {
  for (const family of families) setSysctl(undefined, family === 4 ? "net.ipv4.ip_forward" : "net.ipv6.conf.all.forwarding", "1");
  for (const family of families) {
    const key = family === 6 ? "net.bridge.bridge-nf-call-ip6tables" : "net.bridge.bridge-nf-call-iptables";
    try {
      if (readSysctl(undefined, key) !== "1") setSysctl(undefined, key, "1");
      log.info({ sysctl: key, value: 1 }, `bridge netfilter on: IPv${family} Services work between pods on one node`);
    } catch (err) {
      log.warn({ sysctl: key, err: (err as Error).message }, `cannot turn bridge netfilter on (is br_netfilter loaded?): IPv${family} Services between pods on the same node will fail`);
    }
  }
}
