// Whether etcd is reachable, as readiness reports it: a failure counts only once nothing has answered
// for a grace period, so a watch stream that reconnects under load is not reported as an outage.
export class EtcdHealth {
  private lastOk = 0;
  private failure: { at: number; error: string } | undefined;

  constructor(
    private readonly endpoints: string,
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  answered(): void {
    this.lastOk = this.now();
    this.failure = undefined;
  }

  failed(err: Error): void {
    this.failure ??= { at: this.now(), error: err.message.split("\n")[0] ?? "" };
  }

  /** What readiness should say about etcd, or undefined when all is well. */
  problem(): string | undefined {
    if (this.lastOk === 0) return `etcd at ${this.endpoints} not reached yet${this.failure ? ` (${this.failure.error})` : ""}`;
    if (this.failure && this.now() - this.lastOk > this.graceMs) return `etcd unreachable at ${this.endpoints} since ${new Date(this.failure.at).toISOString()} (${this.failure.error})`;
    return undefined;
  }
}
