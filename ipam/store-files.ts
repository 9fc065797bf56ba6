// How the pod IP store writes its files: each write as small and as cheap as its crash safety allows.
import { closeSync, constants, linkSync, openSync, unlinkSync, writeSync } from "node:fs";

/** Writes `data` to `path`, created or truncated. For files that are new (a truncation of old data costs: see overwriteFile). */
export function writeNewFile(path: string, data: string): void {
  const fd = openSync(path, "w", 0o600);
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

/**
 * Rewrites a small file over its old bytes, padded with spaces to `width` so that nothing of a longer
 * old value is left (readers trim). Why not truncate and write: ext4 flushes a file truncated to zero
 * and written again when it is closed (auto_da_alloc, its guard for editors that rewrite in place):
 * 0.28 ms of every ADD on this store's last_reserved_ip, against 0.02 ms for a write over it.
 */
export function overwriteFile(path: string, data: string, width: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o600);
  try {
    writeSync(fd, data.padEnd(width), 0);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `data` whole under a temp name, then links it to `path`: false when `path` exists. A reader
 * never sees half a file, and of two writers of the same path exactly one wins.
 */
export function createExclusive(path: string, data: string): boolean {
  const tmp = `${path}.${process.pid}.tmp`;
  writeNewFile(tmp, data);
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}
