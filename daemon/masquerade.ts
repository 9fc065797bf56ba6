// NAT for pod → outside traffic, and FORWARD accepts for the pod network, as flannel's rules: own
// chains rewritten atomically by iptables-restore --noflush, jumps from the built-in chains added once.
import { parseIpv4Cidr } from "../ipam/ipv4.js";
import { execHere, type Exec } from "./exec.js";

export const POSTROUTING_CHAIN = "WEFT-POSTRTG";
export const FORWARD_CHAIN = "WEFT-FWD";
const JUMP_NAT = `-A POSTROUTING -m comment --comment "weft: masquerade pod traffic leaving the cluster" -j ${POSTROUTING_CHAIN}`;
const JUMP_FWD = `-A FORWARD -m comment --comment "weft: forward pod traffic" -j ${FORWARD_CHAIN}`;

function checkedCidr(cidr: string): string {
  parseIpv4Cidr(cidr); // throws on anything that is not a plain IPv4 CIDR: nothing else reaches iptables
  return cidr;
}

/** The rule text for iptables-restore. `jumps` says which jump rules are missing and must be inserted. */
export function masqueradeRules(network: string, nodeSubnet: string, opts: { ipMasq: boolean; missingJumps: { nat: boolean; filter: boolean } }): string {
  const net = checkedCidr(network);
  const sub = checkedCidr(nodeSubnet);
  const lines = ["*nat", `:${POSTROUTING_CHAIN} - [0:0]`];
  if (opts.missingJumps.nat) lines.push(JUMP_NAT.replace("-A POSTROUTING", "-I POSTROUTING 1"));
  if (opts.ipMasq) {
    lines.push(
      `-A ${POSTROUTING_CHAIN} -m mark --mark 0x4000/0x4000 -m comment --comment "marked by kube-proxy: its rules masquerade" -j RETURN`,
      `-A ${POSTROUTING_CHAIN} -s ${sub} -d ${net} -m comment --comment "pod to pod: keep the source" -j RETURN`,
      `-A ${POSTROUTING_CHAIN} -s ${net} -d ${sub} -m comment --comment "pod to pod: keep the source" -j RETURN`,
      `-A ${POSTROUTING_CHAIN} ! -s ${net} -d ${sub} -j RETURN`,
      `-A ${POSTROUTING_CHAIN} -s ${net} ! -d 224.0.0.0/4 -m comment --comment "pod to outside" -j MASQUERADE --random-fully`,
      `-A ${POSTROUTING_CHAIN} ! -s ${net} -d ${net} -m comment --comment "outside to a remote pod" -j MASQUERADE --random-fully`,
    );
  }
  lines.push("COMMIT", "*filter", `:${FORWARD_CHAIN} - [0:0]`);
  if (opts.missingJumps.filter) lines.push(JUMP_FWD.replace("-A FORWARD", "-I FORWARD 1"));
  lines.push(`-A ${FORWARD_CHAIN} -s ${net} -j ACCEPT`, `-A ${FORWARD_CHAIN} -d ${net} -j ACCEPT`, "COMMIT", "");
  return lines.join("\n");
}

/** One chain's rules, in order, as iptables-save and `iptables -S` print them (which is how they are written). */
const chainRules = (text: string, chain: string): string => text.split("\n").filter((l) => l.startsWith(`-A ${chain} `)).join("\n");

const CHAIN_MARK = "#weft-chain";
const CHAIN_MISSING = "#weft-missing";
const CHECKED = [["nat", "POSTROUTING"], ["nat", POSTROUTING_CHAIN], ["filter", "FORWARD"], ["filter", FORWARD_CHAIN]] as const;
/**
 * The four chains weft writes, listed by one shell (`iptables -S` takes one chain): one process start
 * from weftd rather than four, each of which forks a process of weftd's size. Built from constants only.
 * A chain that cannot be listed (it or its table does not exist yet; iptables says so in words that
 * differ by backend) is marked missing: the restore that follows creates it, or fails with
 * iptables' own error if iptables itself is what is wrong.
 */
const LIST_CHAINS = CHECKED.map(([table, chain]) => `echo '${CHAIN_MARK} ${table} ${chain}'; iptables -w 5 -t ${table} -S ${chain} 2>/dev/null || echo '${CHAIN_MISSING}'`).join("\n");

/** "table chain" → the chain as `iptables -S` prints it, or undefined when it could not be listed. */
async function listChains(exec: Exec): Promise<Map<string, string | undefined>> {
  const out = await exec("sh", ["-c", LIST_CHAINS]);
  const chains = new Map<string, string | undefined>();
  // Sections start at the marker lines: iptables prints lines that start with -P, -N or -A.
  for (const section of `\n${out}`.split(`\n${CHAIN_MARK} `).slice(1)) {
    const [name = "", ...lines] = section.split("\n");
    chains.set(name, lines.includes(CHAIN_MISSING) ? undefined : lines.join("\n"));
  }
  return chains;
}

/**
 * Applies the rules in the caller's namespace; idempotent (jumps are inserted only when absent).
 * Runs iptables-restore only when something differs: this runs at every resync, and a restore is a
 * process start and a table rewrite. It reads the four chains it writes, never the whole ruleset:
 * beside kube-proxy's rules for 2,000 Services (2.9 MB of iptables-save) a full dump cost 0.9 s per
 * resync. Returns whether it wrote.
 */
export async function applyMasquerade(network: string, nodeSubnet: string, ipMasq: boolean, exec: Exec = execHere): Promise<boolean> {
  const chains = await listChains(exec);
  const [postrouting, ownNat, forward, ownForward] = CHECKED.map(([table, chain]) => chains.get(`${table} ${chain}`));
  const missingJumps = { nat: !postrouting?.includes(JUMP_NAT), filter: !forward?.includes(JUMP_FWD) };
  const rules = masqueradeRules(network, nodeSubnet, { ipMasq, missingJumps });
  const inPlace = ownNat !== undefined && ownForward !== undefined && chainRules(ownNat, POSTROUTING_CHAIN) === chainRules(rules, POSTROUTING_CHAIN) && chainRules(ownForward, FORWARD_CHAIN) === chainRules(rules, FORWARD_CHAIN);
  if (inPlace && !missingJumps.nat && !missingJumps.filter) return false;
  await exec("iptables-restore", ["--noflush", "-w", "5"], rules);
  return true;
}
