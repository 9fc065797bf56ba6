// kube-proxy's IPVS mode: a virtual server per service address and port, a real server per endpoint
// (masquerading), the service addresses on a dummy interface so the node accepts them. It needs the
// kernel's IP Virtual Server; without it the proxy refuses to start and says which modes work. It
// programs IPv4 only, and refuses to run for IPv6 rather than leave that family silently unserved.
import { existsSync } from "node:fs";
import { run as defaultRun, type Runner } from "./exec.js";
import type { IpFamily } from "./model.js";
import { ProxyModeUnavailableError, type Proxier, type SyncStats } from "./proxier.js";
import type { ServicePortEntry } from "./service-ports.js";

export const IPVS_PROC = "/proc/net/ip_vs";

/** ipvsadm-restore input for the service ports (round robin; ClientIP affinity as persistence). */
export function ipvsRules(ports: ServicePortEntry[], nodeIp: string): string {
  const lines: string[] = [];
  for (const p of ports) {
    const flag = p.protocol === "UDP" ? "-u" : p.protocol === "SCTP" ? "--sctp-service" : "-t";
    const persist = p.affinitySeconds !== undefined ? ` -p ${p.affinitySeconds}` : "";
    const vips = [`${p.clusterIP}:${p.port}`, ...p.loadBalancerIPs.map((ip) => `${ip}:${p.port}`), ...(p.nodePort !== undefined && nodeIp ? [`${nodeIp}:${p.nodePort}`] : [])];
    for (const vip of vips) {
      lines.push(`-A ${flag} ${vip} -s rr${persist}`);
      for (const ep of p.endpoints) lines.push(`-a ${flag} ${vip} -r ${ep.ip}:${ep.port} -m -w 1`);
    }
  }
  return lines.length ? `${lines.join("\n")}\n` : "";
}

export class IpvsProxier implements Proxier {
  readonly mode = "ipvs";

  constructor(
    private readonly nodeIp: string,
    private readonly run: Runner = defaultRun,
    private readonly hasIpvs: () => boolean = () => existsSync(IPVS_PROC),
    readonly family: IpFamily = "IPv4",
  ) {}

  init(): void {
    if (this.family === "IPv6") {
      throw new ProxyModeUnavailableError(
        `proxy mode "ipvs" of weft-proxy programs IPv4 only, and --cluster-cidr has an IPv6 CIDR. Use --proxy-mode iptables (the default) or nftables for IPv6 and dual-stack, or give --cluster-cidr an IPv4 CIDR alone.`,
      );
    }
    if (!this.hasIpvs()) {
      throw new ProxyModeUnavailableError(
        `proxy mode "ipvs" needs the kernel's IP Virtual Server (CONFIG_IP_VS, module ip_vs), and this kernel does not have it (${IPVS_PROC} is missing). Use --proxy-mode iptables (the default), nftables or userspace.`,
      );
    }
    try {
      this.run("ip", ["link", "add", "kube-ipvs0", "type", "dummy"]);
    } catch {
      // already there
    }
  }

  sync(ports: ServicePortEntry[]): SyncStats {
    const t = performance.now();
    const text = ipvsRules(ports, this.nodeIp);
    this.run("ipvsadm", ["--clear"]);
    if (text) this.run("ipvsadm-restore", [], text);
    this.run("ip", ["addr", "flush", "dev", "kube-ipvs0"]);
    for (const ip of new Set(ports.flatMap((p) => [p.clusterIP, ...p.loadBalancerIPs]))) this.run("ip", ["addr", "add", `${ip}/32`, "dev", "kube-ipvs0"]);
    return { written: text.split("\n").length - 1, bytes: text.length, ms: performance.now() - t };
  }

  invalidate(): void {
    // Every sync rewrites the whole IPVS table.
  }
}
