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
