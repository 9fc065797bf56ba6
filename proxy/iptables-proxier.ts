// Applies kube-proxy's iptables layout: the first sync after a start writes every chain (and removes
// chains a previous run left that are no longer wanted); later syncs rewrite only changed chains,
// all in one iptables-restore --noflush call, so the change is atomic per table. The IPv6 proxier
// drives ip6tables-save/-restore the same way.
import { BASE_JUMPS, buildRules, familyOfOptions, restoreText, type PortRules, type ProxyOptions, type RuleSet, type Table } from "./iptables-rules.js";
import { run as defaultRun, type Runner } from "./exec.js";
import { familySyntax } from "./family-syntax.js";
import type { IpFamily } from "./model.js";
import { PortCache } from "./port-cache.js";
import type { Proxier, SyncStats } from "./proxier.js";
import type { ServicePortEntry } from "./service-ports.js";

const OURS = /^:(KUBE-(?:SVC|SVL|EXT|SEP|FW)-[A-Z0-9]+) /;

export class IptablesProxier implements Proxier {
  readonly mode = "iptables";
  readonly family: IpFamily;
  private applied: RuleSet | undefined;
  /** Each Service's output in the applied rule set, reused while it is unchanged. */
  private readonly portCache = new PortCache<PortRules>();
  private stale: Record<Table, string[]> = { nat: [], filter: [] };

  private readonly save: string;
  private readonly restore: string;

  /** `backend` "legacy" drives iptables-legacy / ip6tables-legacy (x_tables) instead of the system's default (nft). */
  constructor(
    private readonly opts: ProxyOptions,
    private readonly run: Runner = defaultRun,
    backend: "default" | "legacy" = "default",
  ) {
    this.family = familyOfOptions(opts);
    const family = familySyntax(this.family).iptablesBin;
    const bin = backend === "legacy" ? `${family}-legacy` : family;
    this.save = `${bin}-save`;
    this.restore = `${bin}-restore`;
  }

  /** Finds what a previous run left and ensures the jumps from the built-in chains. */
  init(): void {
    const text: string[] = [];
    for (const table of ["filter", "nat"] as const) {
      const saved = this.run(this.save, ["-t", table]).split("\n");
      this.stale[table] = saved.map((l) => OURS.exec(l)?.[1]).filter((c): c is string => Boolean(c));
      const ours = table === "nat" ? ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"] : ["KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD"];
      const missingChains = ours.filter((c) => !saved.some((l) => l.startsWith(`:${c} `)));
      const missingJumps = BASE_JUMPS[table].filter(([chain, rule]) => !saved.includes(`-A ${chain} ${rule}`));
      if (missingChains.length === 0 && missingJumps.length === 0) continue;
      text.push(`*${table}`, ...missingChains.map((c) => `:${c} - [0:0]`), ...missingJumps.map(([chain, rule]) => `-I ${chain} 1 ${rule}`), "COMMIT");
    }
    if (text.length) this.run(this.restore, ["--noflush", "--wait"], `${text.join("\n")}\n`);
  }

  sync(ports: ServicePortEntry[]): SyncStats {
    const t = performance.now();
    const cache = this.portCache.begin();
    const next = buildRules(ports, this.opts, cache);
    const text = restoreText(next, this.applied, this.stale);
    try {
      if (text) this.run(this.restore, ["--noflush", "--wait"], text);
    } catch (err) {
      this.applied = undefined; // unknown now: the next sync writes everything
      throw err;
    }
    this.applied = next;
    cache.commit();
    this.stale = { nat: [], filter: [] };
    return { written: (text.match(/^:/gm) ?? []).length, bytes: text.length, ms: performance.now() - t };
  }

  invalidate(): void {
    this.applied = undefined;
  }
}
