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
  // One address of each family the pod was given, IPv4 first.
  const wants = ([4, 6] as const).flatMap((family) => prev.ips?.filter((ip) => ip.address.includes(":") === (family === 6)).slice(0, 1).map((ip) => ({ family, address: ip.address, ip: ip.address.split("/")[0] ?? "" })) ?? []);
  if (!wants.length) throw new CniError(CNI_ERROR.INVALID_CONFIG, "prevResult has no IP address to check");
  const problems: string[] = [];

  const attachment = { containerId: env.containerId, ifname: env.ifname };
  for (const want of wants) {
    const held = new PodIpStore({ dataDir: conf.dataDir, network: conf.name, family: want.family }).find(attachment);
    const what = want.family === 6 ? "IPv6 address" : "address";
    if (!held) problems.push(`the IP store holds no ${what} for ${env.containerId}/${env.ifname}`);
    else if (held.ip !== want.ip) problems.push(`the IP store holds ${held.ip}, prevResult says ${want.ip}`);
  }
  // The pod's first address's entry (its MAC comes from it) in the anti-spoofing set.
  const first = wants[0]?.ip ?? "";
  const entry = podFilterEntry({ containerId: env.containerId, ifname: env.ifname, ip: first });
  if (!problems.length && nodeMayFilter(conf.subnetFile) && isPodListed(entry) === false) problems.push(`the anti-spoofing set does not list ${entry.hostVeth} ${entry.mac} ${entry.ip} (the pod cannot send; weftd restores the entry at its next resync)`);

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
      for (const want of wants) {
        const addrs = pod.addrList(link.index, want.family).filter((a) => a.scope !== "link").map((a) => `${a.address}/${a.prefixLen}`);
        if (!addrs.includes(want.address)) problems.push(`interface ${env.ifname} has ${addrs.join(", ") || `no IPv${want.family} address`}, prevResult says ${want.address}`);
      }
      const routes = wants.flatMap((w) => pod.routeList({ family: w.family, oif: link.index }));
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
