// Runs one role's code, carried in the single executable as an SEA asset, compiled with a V8 code
// cache of its own. Why: the code cache Node builds into a single executable holds only what runs at
// load time; every function a run calls is compiled again at every start. Here each role (and each of
// the plugin's verbs) keeps a cache written after its first successful run, holding every function
// that run compiled (measured: ~2 ms less CPU per ADD, where `node -e 0` takes 70 ms;
// docs/benchmarks.md). Each role's asset is read and compiled only when that role runs, so the
// plugin's start does not pay for weftd's or ipamctl's code. The cache is keyed by the asset's hash
// (computed at build time); V8 checks it against the source and its own version and flags, and a
// rejected or unreadable cache only means compiling as before, and writing a new one. Writing one
// removes those of earlier builds.
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { Script } from "node:vm";
import { cachePath, pruneCacheFiles, writeCacheFile } from "../netlink/exec-cache.js";

type Sea = { getAsset(key: string, encoding: string): string };

export type RoleAsset = {
  /** the SEA asset holding the role's CommonJS bundle */
  asset: string;
  /** the asset's content hash, from the build */
  hash: string;
  /** cache files are `${kind}-${hash}[-${variant}].jscache`; earlier builds' `${kind}-*` are pruned */
  kind: string;
  /** a cache per variant when runs differ in what they compile (the plugin's verbs) */
  variant?: string;
};

function writeCacheOnSuccess(script: Script, role: RoleAsset, cacheName: string): void {
  process.once("exit", (code) => {
    if (code !== 0) return; // a failed run may have stopped early: its cache would miss the role's code
    try {
      writeCacheFile(cacheName, script.createCachedData());
      pruneCacheFiles(role.kind, role.hash);
    } catch {
      // A read-only or full disk: the role works as well, only without the cache.
    }
  });
}

/** Compiles and runs the role's bundle as Node runs a CommonJS module, with the entry point's require. */
export function runRoleAsset(role: RoleAsset): void {
  const cacheName = `${role.kind}-${role.hash}${role.variant ? `-${role.variant}` : ""}.jscache`;
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cachePath(cacheName));
  } catch {
    // No cache yet for this build and role.
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- node:sea has no ESM form in Node 20
  const sea = require("node:sea") as Sea;
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${sea.getAsset(role.asset, "utf8")}\n})`, {
    filename: role.asset,
    cachedData,
  });
  if (!cachedData || script.cachedDataRejected) writeCacheOnSuccess(script, role, cacheName);
  const mod = { exports: {} };
  // As Node gives a single executable's main script: the executable's own path and folder.
  (script.runInThisContext() as (...args: unknown[]) => void)(mod.exports, require, mod, process.execPath, dirname(process.execPath));
}
