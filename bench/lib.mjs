// Shared helpers of the benchmarks: timing, percentiles, throwaway namespaces, a runtime-like env.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const BIN = join(ROOT, "dist", "bin");
/** Another build's dist/bin (e.g. the commit before a change), measured beside this one in the same run. */
export const BASELINE_BIN = process.env.BENCH_BASELINE_BIN;
/** What a container runtime gives a plugin: a PATH and nothing else (no NODE_EXTRA_CA_CERTS etc.). */
export const RUNTIME_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

/** Gives a namespace weftd's anti-spoofing set (as daemon/pod-filter.ts declares it; its chains do not
 *  matter to the plugin's cost), so the plugin's ADD and DEL pay for their entry as on a real node. */
export function addPodFilterSet(netns) {
  execFileSync("ip", ["netns", "exec", netns, "nft", "-f", "-"], { input: "table bridge weft {\n  set pod-addresses { type ifname . ether_addr . ipv4_addr; }\n}\n" });
}

/** Bundles bench/NAME.ts (weft's modules compiled in, `external` left to node_modules) and returns the bundle's path. */
export async function bundleWorker(name, external = []) {
  const outfile = join(ROOT, "dist", "bench", `${name}.mjs`);
  await esbuild.build({ entryPoints: [join(ROOT, "bench", `${name}.ts`)], outfile, bundle: true, platform: "node", format: "esm", external, logLevel: "error" });
  return outfile;
}

/** The one executable, and weftd and ipamctl, the links to it that call it by those names. */
export function requireBuild() {
  for (const b of ["weft", "weftd", "ipamctl"]) if (!existsSync(join(BIN, b))) throw new Error(`${join(BIN, b)} is missing: run npm run build`);
  if (BASELINE_BIN && !existsSync(join(BASELINE_BIN, "weft"))) throw new Error(`BENCH_BASELINE_BIN: ${join(BASELINE_BIN, "weft")} is missing`);
}

export const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
export const ms = (x) => `${x.toFixed(2)} ms`;
export const ratio = (a, b) => `${(a / b).toFixed(2)}×`;

export function timeSync(fn) {
  const t = process.hrtime.bigint();
  const r = fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, result: r };
}

/** Runs a command with a minimal environment and stdin, returns wall time and output. */
export function execTimed(cmd, args, { env = {}, input = "" } = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { input, encoding: "utf8", env: { PATH: RUNTIME_PATH, ...env } });
  const elapsed = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stdout}${r.stderr}`);
  return { ms: elapsed, stdout: r.stdout };
}

export function execAsync(cmd, args, { env = {}, input = "" } = {}) {
  return new Promise((resolveP, reject) => {
    const p = spawn(cmd, args, { env: { PATH: RUNTIME_PATH, ...env } });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code) => (code === 0 ? resolveP(out) : reject(new Error(`${cmd} failed (${code}): ${out}${err}`))));
    p.stdin.end(input);
  });
}

export class Namespaces {
  constructor(prefix) {
    this.prefix = `wb${prefix}${randomBytes(2).toString("hex")}`;
    this.made = [];
  }
  create(tag = String(this.made.length)) {
    const name = `${this.prefix}-${tag}`;
    execFileSync("ip", ["netns", "add", name]);
    this.made.push(name);
    execFileSync("ip", ["-n", name, "link", "set", "lo", "up"]);
    return name;
  }
  cleanup() {
    for (const n of this.made.splice(0)) spawnSync("ip", ["netns", "del", n]);
  }
}

/** Always clean up, whatever happens (also on Ctrl-C). */
export async function withCleanup(cleanup, body) {
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  try {
    return await body();
  } finally {
    process.off("SIGINT", onSignal);
    cleanup();
  }
}
