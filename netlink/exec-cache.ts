// Files a single executable keeps beside itself, once per build: the netlink layer's libc addon (taken out
// of the executable, since dlopen needs a file) and the plugin's compiled code. Root's go to
// /var/cache/weft (0700): what is loaded from there runs as root, so no one else may write it.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/** A cache file could not be written; says where, and how to choose another place. */
export class ExecCacheError extends Error {
  constructor(file: string, cause: Error) {
    super(`cannot write ${file} (${cause.message}); WEFT_CACHE_DIR names a writable directory to use instead`);
    this.name = "ExecCacheError";
  }
}

export function cacheDir(): string {
  if (process.env.WEFT_CACHE_DIR) return process.env.WEFT_CACHE_DIR;
  if (process.getuid?.() === 0) return "/var/cache/weft";
  return `${process.env.XDG_CACHE_HOME ?? `${process.env.HOME ?? "/tmp"}/.cache`}/weft`;
}

/**
 * mkdir -p, one level at a time. Node 20's recursive mkdirSync spins forever when mkdir answers
 * ENOENT under a directory that exists (e.g. anywhere in /proc): a plugin must fail, not hang.
 */
function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o700 });
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    if (code !== "ENOENT" || dirname(dir) === dir) throw err;
  }
  ensureDir(dirname(dir));
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}

export function cachePath(name: string): string {
  return `${cacheDir()}/${name}`;
}

/** Writes a cache file whole or not at all: readers running in parallel never see half of one. */
export function writeCacheFile(name: string, data: Uint8Array, mode = 0o644): string {
  const file = cachePath(name);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    ensureDir(cacheDir());
    const fd = openSync(tmp, "w", mode);
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new ExecCacheError(file, err as Error);
  }
  return file;
}

/**
 * Removes what earlier builds left: every `${kind}-*` file except this build's. Called when this
 * build writes its own (once per build and file), so upgrades do not pile files up. A process of the
 * old build still running keeps what it mapped, and writes its file again if it needs it.
 */
export function pruneCacheFiles(kind: string, hash: string): void {
  try {
    for (const f of readdirSync(cacheDir())) {
      if (f.startsWith(`${kind}-`) && !f.startsWith(`${kind}-${hash}`)) rmSync(cachePath(f), { force: true });
    }
  } catch {
    // Best effort: a file left behind costs disk, not correctness.
  }
}
