// Notices when etcd has no lease for this node: it lost its data (restored from an old snapshot, or
// started with an empty data dir) or someone deleted the key. The lease is claimed again at once, same
// subnet; until it is back, and for a grace period after (the other nodes are claiming theirs back at
// the same moment, each within a second or so), nothing is removed from the kernel — an etcd that
// forgot every lease must not make every node drop every other node's routes.
import type { Logger } from "./log.js";

export class OwnLeaseGuard {
  private missing = false;
  private removalsHeldUntil = 0;

  constructor(
    private readonly graceMs: number,
    private readonly claimAgain: () => void,
    private readonly log: () => Logger,
  ) {}

  /** After every lease event: `present` says whether etcd's view holds this node's lease. */
  check(present: boolean): void {
    if (present) {
      if (this.missing) {
        this.removalsHeldUntil = Date.now() + this.graceMs;
        this.log().info({ graceMs: this.graceMs }, "this node's lease is back in etcd; removals resume after a grace period, while other nodes claim theirs back");
      }
      this.missing = false;
      return;
    }
    if (!this.missing) this.log().warn("etcd has no lease for this node (did etcd lose its data?); claiming the same subnet again, and removing nothing until it is back");
    this.missing = true;
    this.claimAgain();
  }

  /** While etcd's view is not trusted for removals. */
  removalsHeld = (): boolean => this.missing || Date.now() < this.removalsHeldUntil;
}
