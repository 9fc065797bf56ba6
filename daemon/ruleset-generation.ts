// What weftd's rule keepers (NAT rules, anti-spoofing filter) share: skipping a check of rules while
// nf_tables' ruleset generation says nothing in the namespace has changed since the last check that
// found them as wanted. The kernel moves the generation at every committed nf_tables change (the
// plugin's, iptables-nft's, someone's by hand) and never for packet counters.

export class UnchangedSinceCheck {
  private checked: string | undefined;

  /** `generation` undefined (or failing): nothing to go by, so every check runs. */
  constructor(private readonly generation: (() => number) | undefined) {}

  /**
   * The key of a check about to run: the generation, read now (before the check, so a change made
   * during it is seen next time), and `wanted`, what the rules must hold. Undefined when there is no
   * generation to go by.
   */
  key(wanted: string): string | undefined {
    try {
      const generation = this.generation?.();
      return generation === undefined ? undefined : `${generation} ${wanted}`;
    } catch {
      return undefined; // checked, as if there were no generation to go by
    }
  }

  /** Whether a check with this key found the rules as wanted last time, and nothing changed since. */
  unchanged(key: string | undefined): boolean {
    return key !== undefined && key === this.checked;
  }

  /** After a check: remembered only when it found the rules as wanted (a write moved the generation). */
  record(key: string | undefined, asWanted: boolean): void {
    this.checked = asWanted ? key : undefined;
  }
}
