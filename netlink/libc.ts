// The libc calls netlink needs (socket, setsockopt, sendto, recv, bind, close, setns), from weft's own
// Node-API addon (netlink/native/libc-calls.c), built by `npm run build` to dist/native/libc-calls.node.
// All calls are synchronous and return what libc returns: -1 on failure, with its errno from errno().
// - In a single executable (the bundler defines __LIBC_ADDON_HASH__): the addon is an SEA asset. It is
//   written once, atomically, to a cache file named by its hash (computed at build time), then loaded
//   with process.dlopen (~0.3 ms: dlopen needs a file).
// - Anywhere else (tests, the lab's tools, benches): the built file, found from this module's folder,
//   the bundle's, or the working directory upwards; WEFT_LIBC_ADDON names another one.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeI32LE } from "./codec/bytes.js";
import { cachePath, pruneCacheFiles, writeCacheFile } from "./exec-cache.js";

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrLen: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  bind(fd: number, addr: Buffer, addrLen: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
  errno(): number;
}

const ADDON = "libc-calls.node";
const BUILT = join("dist", "native", ADDON);

let cached: Libc | undefined;

function dlopen(file: string): Libc {
  const mod = { exports: {} as Libc };
  process.dlopen(mod, file);
  return mod.exports;
}

function loadFromSeaAsset(hash: string): Libc {
  const name = `libc-calls-${hash}.node`;
  try {
    return dlopen(cachePath(name));
  } catch {
    // First start with this build (or the cache was cleaned): write the asset, then load it.
  }
  // The bundle is CommonJS, where `require` exists; node:sea is only loaded on this cold path.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- node:sea has no ESM form in Node 20
  const sea = require("node:sea") as { getAsset(key: string): ArrayBuffer };
  const libc = dlopen(writeCacheFile(name, new Uint8Array(sea.getAsset(ADDON)), 0o755));
  pruneCacheFiles("libc-calls", hash);
  // Builds before this addon unpacked koffi's library (1.1 MB) here: nothing loads it any more.
  pruneCacheFiles("koffi", hash);
  return libc;
}

/** Where a run from the source tree or a bundle of it starts looking: its own folder, then the working directory. */
function startDirs(): string[] {
  const dirs: string[] = [];
  if (import.meta.url?.startsWith("file:")) dirs.push(dirname(fileURLToPath(import.meta.url)));
  if (typeof __dirname === "string") dirs.push(__dirname);
  dirs.push(process.cwd());
  return dirs;
}

function findBuilt(): string {
  if (process.env.WEFT_LIBC_ADDON) return process.env.WEFT_LIBC_ADDON;
  const starts = startDirs();
  for (const start of starts) {
    for (let dir = start; ; dir = dirname(dir)) {
      if (existsSync(join(dir, BUILT))) return join(dir, BUILT);
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error(`weft's libc addon (${BUILT}) was not found above ${starts.join(", ")}: run npm run build, or set WEFT_LIBC_ADDON`);
}

/** setsockopt with an int value, as most socket options take one; what libc returns. */
export function setIntOption(libc: Libc, fd: number, level: number, name: number, value: number): number {
  const b = Buffer.alloc(4);
  writeI32LE(b, value);
  return libc.setsockopt(fd, level, name, b, 4);
}

export function getLibc(): Libc {
  cached ??= typeof __LIBC_ADDON_HASH__ === "string" ? loadFromSeaAsset(__LIBC_ADDON_HASH__) : dlopen(findBuilt());
  return cached;
}
