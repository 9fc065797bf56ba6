// Exponential backoff with jitter, for retrying the API server: many nodes' clients that failed at
// the same moment must not come back at the same moment.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** 0..1 → a number in [0, 1); a test passes a fixed one. */
  random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private attempt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 30_000;
    this.random = opts.random ?? Math.random;
  }

  /** The next wait: doubling from initialMs up to maxMs, each between half of it and all of it. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt);
    if (ceiling < this.maxMs) this.attempt++;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}
