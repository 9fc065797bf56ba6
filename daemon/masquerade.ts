// NAT for pod → outside traffic, and FORWARD accepts for the pod network, as flannel's rules: own
// chains rewritten atomically by iptables-restore --noflush, jumps from the built-in chains added once.
// The same rules for a dual-stack node's IPv6 part, through ip6tables.
import { parseIpv4Cidr } from "../ipam/ipv4.js";
import { parseIpv6Cidr } from "../ipam/ipv6.js";
import { execHere, type Exec } from "./exec.js";
import { UnchangedSinceCheck } from "./ruleset-generation.js";

export const POSTROUTING_CHAIN = "WEFT-POSTRTG";
export const FORWARD_CHAIN = "WEFT-FWD";
const JUMP_NAT = `-A POSTROUTING -m comment --comment "weft: masquerade pod traffic leaving the cluster" -j ${POSTROUTING_CHAIN}`;
const JUMP_FWD = `-A FORWARD -m comment --comment "weft: forward pod traffic" -j ${FORWARD_CHAIN}`;

export type IpFamily = 4 | 6;

/** The tools of each family, and the multicast range that is never masqueraded. */
const TOOLS: Record<IpFamily, { save: string; restore: string; multicast: string }> = {
  4: { save: "iptables-save", restore: "iptables-restore", multicast: "224.0.0.0/4" },
  6: { save: "ip6tables-save", restore: "ip6tables-restore", multicast: "ff00::/8" },
};

function checkedCidr(cidr: string, family: IpFamily): string {
  // Throws on anything that is not a plain CIDR of the family: nothing else reaches iptables.
  if (family === 6) parseIpv6Cidr(cidr);
  else parseIpv4Cidr(cidr);
  return cidr;
}

/** The rule text for iptables-restore. `jumps` says which jump rules are missing and must be inserted. */
export function masqueradeRules(network: string, nodeSubnet: string, opts: { ipMasq: boolean; missingJumps: { nat: boolean; filter: boolean }; family?: IpFamily }): string {
  const family = opts.family ?? 4;
  const net = checkedCidr(network, family);
  const sub = checkedCidr(nodeSubnet, family);
  const lines = ["*nat", `:${POSTROUTING_CHAIN} - [0:0]`];
  if (opts.missingJumps.nat) lines.push(JUMP_NAT.replace("-A POSTROUTING", "-I POSTROUTING 1"));
  if (opts.ipMasq) {
    lines.push(
      `-A ${POSTROUTING_CHAIN} -m mark --mark 0x4000/0x4000 -m comment --comment "marked by kube-proxy: its rules masquerade" -j RETURN`,
      `-A ${POSTROUTING_CHAIN} -s ${sub} -d ${net} -m comment --comment "pod to pod: keep the source" -j RETURN`,
      `-A ${POSTROUTING_CHAIN} -s ${net} -d ${sub} -m comment --comment "pod to pod: keep the source" -j RETURN`,
      `-A ${POSTROUTING_CHAIN} ! -s ${net} -d ${sub} -j RETURN`,
      `-A ${POSTROUTING_CHAIN} -s ${net} ! -d ${TOOLS[family].multicast} -m comment --comment "pod to outside" -j MASQUERADE --random-fully`,
      `-A ${POSTROUTING_CHAIN} ! -s ${net} -d ${net} -m comment --comment "outside to a remote pod" -j MASQUERADE --random-fully`,
    );
  }
  lines.push("COMMIT", "*filter", `:${FORWARD_CHAIN} - [0:0]`);
  if (opts.missingJumps.filter) lines.push(JUMP_FWD.replace("-A FORWARD", "-I FORWARD 1"));
  lines.push(`-A ${FORWARD_CHAIN} -s ${net} -j ACCEPT`, `-A ${FORWARD_CHAIN} -d ${net} -j ACCEPT`, "COMMIT", "");
  return lines.join("\n");
}

/** One chain's rules, in order, as iptables-save prints them (which is how they are written). */
const chainRules = (text: string, chain: string): string => text.split("\n").filter((l) => l.startsWith(`-A ${chain} `)).join("\n");

/**
 * Applies the rules in the caller's namespace; idempotent (jumps are inserted only when absent).
 * Runs iptables-restore only when something differs: this runs at every resync, and a restore is a
 * process start and a table rewrite. Returns whether it wrote. It reads the whole ruleset, whose size
 * grows with kube-proxy's Services: weftd calls it through NatRulesKeeper, which skips it while nothing
 * in the namespace changed (docs/benchmarks.md, "nat check").
 */
export async function applyMasquerade(network: string, nodeSubnet: string, ipMasq: boolean, exec: Exec = execHere, family: IpFamily = 4): Promise<boolean> {
  const saved = await exec(TOOLS[family].save, []);
  const missingJumps = { nat: !saved.includes(JUMP_NAT), filter: !saved.includes(JUMP_FWD) };
  const rules = masqueradeRules(network, nodeSubnet, { ipMasq, missingJumps, family });
  const inPlace = [POSTROUTING_CHAIN, FORWARD_CHAIN].every((c) => saved.includes(`:${c} `) && chainRules(saved, c) === chainRules(rules, c));
  if (inPlace && !missingJumps.nat && !missingJumps.filter) return false;
  await exec(TOOLS[family].restore, ["--noflush", "-w", "5"], rules);
  return true;
}

/** Whether `iptables` writes through nf_tables (iptables-nft), whose changes move the ruleset generation. */
export async function iptablesUsesNftables(exec: Exec = execHere): Promise<boolean> {
  try {
    return /\(nf_tables\)/.test(await exec("iptables", ["--version"]));
  } catch {
    return false;
  }
}

/**
 * The rules kept at every resync without reading the ruleset each time: the check is skipped while
 * nf_tables' ruleset generation is the one read just before the last check that found (or put) them in
 * place, since nothing in the namespace has changed since. Only with iptables-nft: iptables-legacy's
 * changes do not move the generation, so without one (`generation` undefined, or unreadable) every
 * resync checks.
 */
export class NatRulesKeeper {
  private readonly since: UnchangedSinceCheck;

  constructor(
    generation: (() => number) | undefined,
    private readonly exec: Exec = execHere,
    private readonly family: IpFamily = 4,
  ) {
    this.since = new UnchangedSinceCheck(generation);
  }

  async ensure(network: string, nodeSubnet: string, ipMasq: boolean): Promise<"unchanged" | "in place" | "written"> {
    const key = this.since.key(`${network} ${nodeSubnet} ${ipMasq}`);
    if (this.since.unchanged(key)) return "unchanged";
    const wrote = await applyMasquerade(network, nodeSubnet, ipMasq, this.exec, this.family);
    this.since.record(key, !wrote);
    return wrote ? "written" : "in place";
  }
}
