// Throwaway network namespaces for kernel tests. Every name is unique to the test run, and
// every namespace made here is deleted by `cleanup()` in afterAll/finally, whatever happened.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

export function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
}

/** `ip -j …` parsed; pass the namespace to run it inside one. */
export function ipJson<T = unknown>(netns: string | undefined, args: string[]): T {
  const full = netns ? ["-n", netns, "-j", ...args] : ["-j", ...args];
  const out = run("ip", full).trim();
  return (out ? JSON.parse(out) : []) as T;
}

export function uniqueName(prefix: string): string {
  // Interface names are limited to 15 bytes; keep prefixes short.
  return `${prefix}${randomBytes(3).toString("hex")}`;
}

export class NetnsPool {
  private readonly made: string[] = [];
  constructor(private readonly prefix: string) {}

  /** Creates a namespace with loopback up and returns its name (path: /var/run/netns/NAME). */
  create(): string {
    const name = uniqueName(`wt${this.prefix}`);
    run("ip", ["netns", "add", name]);
    this.made.push(name);
    run("ip", ["-n", name, "link", "set", "lo", "up"]);
    return name;
  }

  cleanup(): void {
    for (const name of this.made.splice(0)) {
      try {
        run("ip", ["netns", "del", name]);
      } catch {
        // already gone
      }
    }
  }
}

export function netnsPath(name: string): string {
  return `/var/run/netns/${name}`;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * Counts the ICMP echo requests from `ip` that reach a namespace's own stack, with an nftables rule of
 * the test's own (table ip watch): what really arrived, whatever the sender was told.
 */
export function watchEchoRequests(netns: string, ip: string): { count: () => number; remove: () => void } {
  const nft = (args: string[], input?: string): string => run("ip", ["netns", "exec", netns, "nft", ...args], input);
  // An IPv6 source is watched in a table of its own family: the same counter, for ICMPv6 echo requests.
  const v6 = ip.includes(":");
  const [family, table, match] = v6 ? ["ip6", "watch6", `ip6 saddr ${ip} icmpv6 type echo-request`] : ["ip", "watch", `ip saddr ${ip} icmp type echo-request`];
  nft(["-f", "-"], `table ${family} ${table} {\n chain input {\n  type filter hook input priority 0; policy accept;\n  ${match} counter\n }\n}\n`);
  return {
    count: () => {
      const out = JSON.parse(nft(["-j", "list", "chain", family, table, "input"])) as { nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[] };
      return out.nftables.flatMap((i) => i.rule?.expr ?? []).find((e) => e.counter)?.counter?.packets ?? -1;
    },
    remove: () => void nft(["delete", "table", family, table]),
  };
}
