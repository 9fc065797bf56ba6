// Applies kube-proxy's nftables layout with nft -f: one transaction per sync, so a change is atomic.
// Each family's proxier owns its own table (ip kube-proxy, ip6 kube-proxy) and never reads the other.
import { run as defaultRun, type Runner } from "./exec.js";
import { PortCache } from "./port-cache.js";
import { familyOfOptions, type ProxyOptions } from "./iptables-rules.js";
import type { IpFamily } from "./model.js";
import { buildNftRules, nftScript, nftTable, type NftObjects, type NftPortOps, type NftRuleSet } from "./nft-rules.js";
import type { Proxier, SyncStats } from "./proxier.js";
import type { ServicePortEntry } from "./service-ports.js";

export class NftProxier implements Proxier {
  readonly mode = "nftables";
  readonly family: IpFamily;
  private applied: NftRuleSet | undefined;
  /** Each Service's output in the applied rule set, reused while it is unchanged. */
  private readonly portCache = new PortCache<NftPortOps>();
  private stale: NftObjects = { chains: [], sets: [], maps: [] };

  constructor(
    private readonly opts: ProxyOptions,
    private readonly run: Runner = defaultRun,
  ) {
    this.family = familyOfOptions(opts);
  }

  /** Finds what a previous run left in our table, to delete what is no longer wanted. */
  init(): void {
    this.stale = { chains: [], sets: [], maps: [] };
    let listing = "";
    try {
      listing = this.run("nft", ["list", "table", ...nftTable(this.family).split(" ")]);
    } catch {
      return; // no table yet
    }
    for (const line of listing.split("\n")) {
      const chain = /^\s*chain (\S+) \{/.exec(line)?.[1];
      if (chain) this.stale.chains.push(chain);
      const set = /^\s*set (\S+) \{/.exec(line)?.[1];
      if (set) this.stale.sets.push(set);
      const map = /^\s*map (\S+) \{/.exec(line)?.[1];
      if (map) this.stale.maps.push(map);
    }
  }

  sync(ports: ServicePortEntry[]): SyncStats {
    const t = performance.now();
    const cache = this.portCache.begin();
    const next = buildNftRules(ports, this.opts, cache);
    const script = nftScript(next, this.applied, this.stale);
    try {
      if (script) this.run("nft", ["-f", "-"], script);
    } catch (err) {
      this.applied = undefined;
      this.init();
      throw err;
    }
    this.applied = next;
    cache.commit();
    this.stale = { chains: [], sets: [], maps: [] };
    return { written: script.split("\n").length - 1, bytes: script.length, ms: performance.now() - t };
  }

  invalidate(): void {
    this.applied = undefined;
    this.init();
  }
}
