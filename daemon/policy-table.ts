// The kernel's copy of the policy table: written whole with one `nft -f` (replacing whatever table of
// that name is there, atomically), then moved by `diffRulesets` transactions from what was last
// applied, or, for a change of pods only, by set elements over netlink (policy-elements.ts); a failed
// diff forgets what the kernel holds, so the next apply is whole again. Drift (a table deleted, a
// chain flushed, elements removed by hand) is found by comparing the kernel's listing with what was
// applied, only when nf_tables' generation moved since the last look.
import type { Exec } from "./exec.js";
import { elementCount, elementsScript, type ElementWriter } from "./policy-elements.js";
import { newlyLocal, releaseChanges } from "./policy/new-pod-hold.js";
import { diffRulesets, POLICY_TABLE, renderRuleset, type CompiledRuleset } from "./policy/nft-ruleset.js";
import type { ElementChange } from "./policy/pod-delta.js";
import { UnchangedSinceCheck } from "./ruleset-generation.js";

export type ApplyKind = "full" | "diff" | "elements" | "none";

/** Past this many elements a change goes through nft: one netlink datagram must fit the socket's send buffer. */
const MAX_NETLINK_ELEMENTS = 2048;

export class PolicyApplyError extends Error {
  readonly code = "EPOLICYAPPLY";
  constructor(
    readonly kind: ApplyKind,
    readonly detail: string,
  ) {
    super(kind === "elements" ? `set elements could not be written to table inet ${POLICY_TABLE}: ${detail}` : `nft could not apply the ${kind} policy update to table inet ${POLICY_TABLE}: ${detail}`);
  }
}

/**
 * What a listing of the table must show for it to be the one applied: per set its element count (not
 * for sets whose elements expire: the plugin adds to those), per chain its rule count.
 */
export function shapeOf(c: CompiledRuleset): string {
  const sets = c.sets.map((s) => `s ${s.name} ${s.timeoutMs ? "*" : s.elements.length}`).sort();
  const chains = c.chains.map((ch) => `c ${ch.name} ${ch.rules.length}`).sort();
  return [...sets, ...chains].join("\n");
}

interface NftJsonItem {
  set?: { name: string; table: string; elem?: unknown[]; flags?: string[] };
  chain?: { name: string; table: string };
  rule?: { chain: string; table: string };
}

/** The same shape read from `nft -j list table inet weft-policy`. */
export function shapeOfListing(json: string): string {
  const items = (JSON.parse(json) as { nftables: NftJsonItem[] }).nftables;
  const rules = new Map<string, number>();
  for (const i of items) if (i.rule) rules.set(i.rule.chain, (rules.get(i.rule.chain) ?? 0) + 1);
  const sets = items.flatMap((i) => (i.set ? [`s ${i.set.name} ${i.set.flags?.includes("timeout") ? "*" : (i.set.elem?.length ?? 0)}`] : [])).sort();
  const chains = items.flatMap((i) => (i.chain ? [`c ${i.chain.name} ${rules.get(i.chain.name) ?? 0}`] : [])).sort();
  return [...sets, ...chains].join("\n");
}

const stderrOf = (err: unknown): string => ((err as { stderr?: string }).stderr || (err as Error).message || String(err)).trim().split("\n").slice(0, 4).join(" | ");

export class PolicyTable {
  /** What the kernel holds, as far as weftd knows: undefined until the first whole write, and after a failure. */
  private applied: CompiledRuleset | undefined;
  private readonly since: UnchangedSinceCheck;

  constructor(
    private readonly exec: Exec,
    generation: (() => number) | undefined,
    /** Writes set element changes in one transaction without nft (netlink); absent: nft writes them. */
    private readonly elements?: ElementWriter,
  ) {
    this.since = new UnchangedSinceCheck(generation);
  }

  /** The script that moves the kernel to `next`: whole when nothing is known of the kernel's table. */
  plan(next: CompiledRuleset, forceFull = false): { kind: ApplyKind; script: string } {
    if (!this.applied || forceFull) return { kind: "full", script: renderRuleset(next) };
    // The pods this diff first judges leave the new-pod hold in the same transaction.
    const script = diffRulesets(this.applied, next) + elementsScript(releaseChanges(newlyLocal(this.applied, next)));
    return script ? { kind: "diff", script } : { kind: "none", script: "" };
  }

  async apply(next: CompiledRuleset, forceFull = false): Promise<ApplyKind> {
    const { kind, script } = this.plan(next, forceFull);
    if (kind === "none") {
      this.applied = next; // equal to what the kernel holds; the next element change starts from this object
      return kind;
    }
    try {
      await this.exec("nft", ["-f", "-"], script);
    } catch (err) {
      this.applied = undefined;
      throw new PolicyApplyError(kind, stderrOf(err));
    }
    this.applied = next;
    return kind;
  }

  /**
   * Moves the kernel from `from` to `next` by the set elements pod-delta computed: over netlink when
   * it can, else with nft. Either is one transaction, so when this throws the kernel holds `from` still
   * and what weftd knows of it stands; it throws too when the kernel's table is no longer `from`.
   */
  async applyElements(from: CompiledRuleset, next: CompiledRuleset, changes: ElementChange[]): Promise<ApplyKind> {
    if (this.applied !== from) throw new PolicyApplyError("elements", "the table the change was computed from is not the one last applied");
    if (changes.length === 0) {
      this.applied = next;
      return "none";
    }
    // The pods this change first judges leave the new-pod hold in the same transaction.
    const all = [...changes, ...releaseChanges(newlyLocal(from, next))];
    try {
      if (this.elements && elementCount(all) <= MAX_NETLINK_ELEMENTS) this.elements.write(all);
      else await this.exec("nft", ["-f", "-"], elementsScript(all));
    } catch (err) {
      throw new PolicyApplyError("elements", stderrOf(err));
    }
    this.applied = next;
    return "elements";
  }

  /** Whether the kernel's table differs from what was applied (or is gone). False when nothing was applied yet. */
  async drifted(): Promise<boolean> {
    const applied = this.applied;
    if (!applied) return false;
    const wanted = shapeOf(applied);
    const key = this.since.key(wanted);
    if (this.since.unchanged(key)) return false;
    let listing: string;
    try {
      listing = await this.exec("nft", ["-j", "list", "table", "inet", POLICY_TABLE]);
    } catch {
      this.since.record(key, false);
      return true; // the table is gone
    }
    // A write that landed while the kernel was being read: what was read is no measure of drift.
    if (this.applied !== applied) return false;
    const same = shapeOfListing(listing) === wanted;
    this.since.record(key, same);
    return !same;
  }

  /** Closes the element writer's socket (weftd stopping). */
  close(): void {
    this.elements?.close();
  }

  /** Forgets what the kernel holds: the next apply writes the table whole. */
  forget(): void {
    this.applied = undefined;
  }

  /** Deletes the table when there is one; true when there was. */
  async remove(): Promise<boolean> {
    this.applied = undefined;
    try {
      await this.exec("nft", ["list", "table", "inet", POLICY_TABLE]);
    } catch {
      return false;
    }
    await this.exec("nft", ["delete", "table", "inet", POLICY_TABLE]);
    return true;
  }
}
