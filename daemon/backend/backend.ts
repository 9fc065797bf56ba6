// How this node reaches the others, behind one interface (flannel's pkg/backend): a backend publishes
// what its lease says about the node (a VTEP's MAC, a public key, nothing), makes the node's devices,
// and turns the other nodes' leases into kernel state — all of them at once (reconcile, which repairs
// drift) or one changed lease at a time. weftd never asks which backend it has.
import type { NetworkConfig } from "../../ipam/network-config.js";
import type { BackendType, Lease, LeaseAttrs } from "../../ipam/subnet-manager.js";
import type { KernelChange, Link, NetlinkHandle } from "../../netlink/index.js";
import type { Logger } from "../log.js";
import type { DaemonMetrics } from "../metrics.js";
import type { UnderlayAddress } from "../underlay.js";

/** The node's underlay: its interface, and its address of each family the network has. */
export interface NodeUnderlay {
  link: Link;
  ipv4?: UnderlayAddress;
  ipv6?: UnderlayAddress;
}

export interface BackendContext {
  h: NetlinkHandle;
  network: NetworkConfig;
  underlay: NodeUnderlay;
  metrics: DaemonMetrics;
  log: () => Logger;
}

export interface Backend {
  readonly type: BackendType;
  /** What this node's lease publishes (a key may be loaded or made, a device started, to know it). */
  leaseAttrs(): Promise<LeaseAttrs>;
  /** The MTU pods get: the underlay's less what this backend adds to a packet. */
  podMtu(): number;
  /** Creates or repairs the node's devices for its own lease; true when one was (re)created. */
  ensure(own: Lease): Promise<boolean>;
  /** Brings the kernel to what `leases` (every valid lease of this backend, own among them) want; additions only while removals are held. */
  reconcile(leases: Lease[], own: Lease, removalsHeld: boolean): Promise<void>;
  /** One node's lease changed (`prev` → `next`, either may be absent): that node's entries alone. */
  applyChange(prev: Lease | undefined, next: Lease | undefined, own: Lease): Promise<void>;
  /**
   * The kernel's change notifications since the last call: repairs what someone else undid; "full"
   * when only a full reconcile will do (a device changed, notifications were lost).
   */
  repair(changes: KernelChange[], own: Lease): Promise<"done" | "full">;
  /** What /readyz reports (a device gone, a peer refused, a node another backend cannot reach). */
  problems(): string[];
  /** Releases handles; the kernel state stays (pods keep talking while weftd restarts). */
  close(): void;
}

export class BackendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
