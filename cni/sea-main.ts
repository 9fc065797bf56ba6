// The entry point of the `weft` executable: compiles the plugin (cni/main.ts, bundled and carried as
// an SEA asset) with a V8 code cache of its own, then runs it.
// Why: the code cache Node builds into a single executable holds only what runs at load time; every
// function a verb calls is compiled again at every start. Here each verb keeps a cache written after
// its first successful run, holding every function that run compiled (measured: ~2 ms less CPU per
// ADD, where `node -e 0` takes 70 ms; docs/benchmarks.md). The cache is keyed by the plugin's hash (computed at
// build time); V8 checks it against the source and its own version and flags, and a rejected or
// unreadable cache only means compiling as before, and writing a new one. Writing one removes those
// of earlier builds.
import { readFileSync, writeSync } from "node:fs";
import { Script } from "node:vm";
import { cachePath, pruneCacheFiles, writeCacheFile } from "../netlink/exec-cache.js";
import { versionLine } from "./version.js";

// --version answers before any of that: it shows what starting this executable costs with no work.
if (process.argv.includes("--version")) {
  writeSync(1, versionLine());
  process.exit(0);
}

type Sea = { getAsset(key: string, encoding: string): string };
// eslint-disable-next-line @typescript-eslint/no-require-imports -- node:sea has no ESM form in Node 20
const sea = require("node:sea") as Sea;
const pluginHash = String(__WEFT_PLUGIN_HASH__);
const command = process.env.CNI_COMMAND ?? "";
const cacheName = `weft-${pluginHash}-${/^[A-Z]{1,10}$/.test(command) ? command : "none"}.jscache`;

let cachedData: Buffer | undefined;
try {
  cachedData = readFileSync(cachePath(cacheName));
} catch {
  // No cache yet for this build and verb.
}
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${sea.getAsset("plugin.js", "utf8")}\n})`, {
  filename: "weft-plugin.js",
  cachedData,
});
if (!cachedData || script.cachedDataRejected) {
  process.once("exit", (code) => {
    if (code !== 0) return; // a failed run may have stopped early: its cache would miss the verb's code
    try {
      writeCacheFile(cacheName, script.createCachedData());
      pruneCacheFiles("weft", pluginHash); // earlier builds' caches
    } catch {
      // A read-only or full disk: the plugin works as well, only without the cache.
    }
  });
}
const plugin = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(plugin.exports, require, plugin, "weft-plugin.js", ".");
