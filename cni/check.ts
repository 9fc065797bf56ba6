// CHECK: the pod's interface, address and routes, the host veth, the IP store and the pod's
// anti-spoofing entry must still be what prevResult says. Each difference is named.
import { PodIpStore } from "../ipam/pod-ip-store.js";
import { NetnsError, openHandle } from "../netlink/index.js";
import type { WeftConfig } from "./config.js";
import type { CniEnv } from "./env.js";
import { CNI_ERROR, CniError } from "./errors.js";
import { hostVethName, podFilterEntry } from "../ipam/attachment.js";
import { isPodListed, nodeMayFilter } from "./pod-filter.js";
import { isDefaultRoute } from "./spec.js";

export function cmdCheck(conf: WeftConfig, env: CniEnv): void {
  const prev = conf.prevResult;
  if (!prev) throw new CniError(CNI_ERROR.INVALID_CONFIG, "CHECK needs prevResult in the network config");
  const want = prev.ips?.find((ip) => ip.address.includes("."));
  if (!want) throw new CniError(CNI_ERROR.INVALID_CONFIG, "prevResult has no IPv4 address to check");
  const want6 = prev.ips?.find((ip) => ip.address.includes(":"));
  const problems: string[] = [];

  const attachment = { containerId: env.containerId, ifname: env.ifname };
  const held = new PodIpStore({ dataDir: conf.dataDir, network: conf.name }).find(attachment);
  const [wantIp, wantLen] = want.address.split("/");
  if (want6) {
    const held6 = new PodIpStore({ dataDir: conf.dataDir, network: conf.name, family: 6 }).find(attachment);
    const wantIp6 = want6.address.split("/")[0];
    if (!held6) problems.push(`the IP store holds no IPv6 address for ${env.containerId}/${env.ifname}`);
    else if (held6.ip !== wantIp6) problems.push(`the IP store holds ${held6.ip}, prevResult says ${wantIp6}`);
  }
  if (!held) problems.push(`the IP store holds no address for ${env.containerId}/${env.ifname}`);
  else if (held.ip !== wantIp) problems.push(`the IP store holds ${held.ip}, prevResult says ${wantIp}`);
  else {
    const entry = podFilterEntry({ containerId: env.containerId, ifname: env.ifname, ip: held.ip });
    if (nodeMayFilter(conf.subnetFile) && isPodListed(entry) === false) problems.push(`the anti-spoofing set does not list ${entry.hostVeth} ${entry.mac} ${entry.ip} (the pod cannot send; weftd restores the entry at its next resync)`);
  }

  const host = openHandle();
  try {
    const veth = host.linkFind(hostVethName(env.containerId, env.ifname));
    const bridge = host.linkFind(conf.bridge);
    if (!veth) problems.push(`host veth ${hostVethName(env.containerId, env.ifname)} is missing`);
    else if (!bridge || veth.masterIndex !== bridge.index) problems.push(`host veth ${veth.name} is not a port of bridge ${conf.bridge}`);
  } finally {
    host.close();
  }

  let pod;
  try {
    pod = openHandle(env.netns);
  } catch (err) {
    if (err instanceof NetnsError) throw new CniError(CNI_ERROR.CHECK_MISMATCH, `pod namespace ${env.netns} is gone`, err.message);
    throw err;
  }
  try {
    const link = pod.linkFind(env.ifname);
    if (!link) problems.push(`interface ${env.ifname} is missing in ${env.netns}`);
    else {
      if (!link.up) problems.push(`interface ${env.ifname} is down`);
      const addrs = pod.addrList(link.index, 4).map((a) => `${a.address}/${a.prefixLen}`);
      if (!addrs.includes(`${wantIp}/${wantLen}`)) problems.push(`interface ${env.ifname} has ${addrs.join(", ") || "no IPv4 address"}, prevResult says ${want.address}`);
      if (want6) {
        const addrs6 = pod.addrList(link.index, 6).filter((a) => a.scope !== "link").map((a) => `${a.address}/${a.prefixLen}`);
        if (!addrs6.includes(want6.address)) problems.push(`interface ${env.ifname} has ${addrs6.join(", ") || "no IPv6 address"}, prevResult says ${want6.address}`);
      }
      const routes = [...pod.routeList({ family: 4, oif: link.index }), ...(want6 ? pod.routeList({ family: 6, oif: link.index }) : [])];
      for (const r of prev.routes ?? []) {
        const dst = isDefaultRoute(r.dst) ? undefined : r.dst;
        const family = r.dst.includes(":") ? 6 : 4;
        if (!routes.some((k) => k.family === family && k.dst === dst && (!r.gw || k.gateway === r.gw))) problems.push(`route ${r.dst}${r.gw ? ` via ${r.gw}` : ""} is missing`);
      }
    }
  } finally {
    pod.close();
  }
  if (problems.length) throw new CniError(CNI_ERROR.CHECK_MISMATCH, `pod network of ${env.containerId} differs from prevResult: ${problems.join("; ")}`);
}
