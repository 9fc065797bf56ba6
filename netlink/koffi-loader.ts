// How the netlink layer gets koffi.
// - In a single executable (the bundler defines __KOFFI_ASSET_HASH__): koffi's native library is an
//   SEA asset. It is written once, atomically, to a cache file named by its hash (computed at build
//   time: hashing at every start would cost ~3 ms), then loaded with process.dlopen. Going through
//   koffi's package entry point instead costs ~9 ms of path probing per start.
// - Anywhere else (tests, tools): the npm package.
import { createRequire } from "node:module";
import { cachePath, pruneCacheFiles, writeCacheFile } from "./exec-cache.js";

type Koffi = typeof import("koffi");

let cached: Koffi | undefined;

function loadFromSeaAsset(hash: string): Koffi {
  const name = `koffi-${hash}.node`;
  const mod = { exports: {} as Koffi };
  try {
    process.dlopen(mod, cachePath(name));
    return mod.exports;
  } catch {
    // First start with this build (or the cache was cleaned): write the asset, then load it.
  }
  // The bundle is CommonJS, where `require` exists; node:sea is only loaded on this cold path.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- node:sea has no ESM form in Node 20
  const sea = require("node:sea") as { getAsset(key: string): ArrayBuffer };
  process.dlopen(mod, writeCacheFile(name, new Uint8Array(sea.getAsset("koffi.node")), 0o755));
  pruneCacheFiles("koffi", hash);
  return mod.exports;
}

export function loadKoffi(): Koffi {
  if (cached) return cached;
  cached =
    typeof __KOFFI_ASSET_HASH__ === "string"
      ? loadFromSeaAsset(__KOFFI_ASSET_HASH__)
      : (createRequire(import.meta.url)("koffi") as Koffi);
  return cached;
}
