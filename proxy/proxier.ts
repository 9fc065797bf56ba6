// What every proxy mode implements: program the node so that the given service ports work.
import type { ServicePortEntry } from "./service-ports.js";

export interface SyncStats {
  /** Chains (iptables), or objects (nftables, ipvs), or listeners (userspace) written. */
  written: number;
  bytes: number;
  ms: number;
}

export interface Proxier {
  readonly mode: string;
  /** Prepares the node (base chains, tables); safe to run again after a restart. */
  init(): void;
  sync(ports: ServicePortEntry[]): SyncStats | Promise<SyncStats>;
  /** Forget what was applied, so the next sync rewrites everything (periodic repair). */
  invalidate(): void;
  stop?(): void;
}

export class ProxyModeUnavailableError extends Error {}
