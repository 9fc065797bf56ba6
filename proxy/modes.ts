// The proxy modes and how each is made.
import { IptablesProxier } from "./iptables-proxier.js";
import { IpvsProxier } from "./ipvs-proxier.js";
import { NftProxier } from "./nft-proxier.js";
import { UserspaceProxier } from "./userspace-proxier.js";
import type { Proxier } from "./proxier.js";

export const PROXY_MODES = ["iptables", "nftables", "userspace", "ipvs"] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];

export interface ModeOptions {
  clusterCidr: string;
  nodeIp: string;
}

export function createProxier(mode: ProxyMode, opts: ModeOptions): Proxier {
  switch (mode) {
    case "iptables":
      return new IptablesProxier({ clusterCidr: opts.clusterCidr });
    case "nftables":
      return new NftProxier({ clusterCidr: opts.clusterCidr });
    case "userspace":
      return new UserspaceProxier(opts.nodeIp);
    case "ipvs":
      return new IpvsProxier(opts.nodeIp);
  }
}
