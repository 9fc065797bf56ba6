// What every proxy mode implements: program the node so that the given service ports work.
import type { IpFamily } from "./model.js";
import type { ServicePortEntry } from "./service-ports.js";

export interface SyncStats {
  /** Chains (iptables), or objects (nftables, ipvs), or listeners (userspace) written. */
  written: number;
  bytes: number;
  ms: number;
}

export interface Proxier {
  readonly mode: string;
  /** The one family it programs: a dual-stack node runs a proxier per family, as kube-proxy does. */
  readonly family: IpFamily;
  /** Prepares the node (base chains, tables); safe to run again after a restart. */
  init(): void;
  sync(ports: ServicePortEntry[]): SyncStats | Promise<SyncStats>;
  /** Forget what was applied, so the next sync rewrites everything (periodic repair). */
  invalidate(): void;
  stop?(): void;
}

export class ProxyModeUnavailableError extends Error {}
/** Flags that cannot work together (a family without the address its mode needs, a malformed CIDR). */
export class ProxyConfigError extends Error {}
