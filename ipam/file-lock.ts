// A lock file shared by concurrent plugin processes. Node has no flock(2), so the lock is a file
// created with O_EXCL holding the holder's pid. A holder that crashed leaves the file behind: it
// is broken when its pid is gone and it is older than any real operation (ms), which keeps the
// steal race out of reach of live holders.
import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";

const STALE_AFTER_MS = 5_000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleepSync = (ms: number): void => void Atomics.wait(sleeper, 0, 0, ms);

export class LockTimeoutError extends Error {
  constructor(path: string, waitedMs: number, holder: string) {
    super(`could not take lock ${path} within ${waitedMs} ms (held by pid ${holder || "unknown"}); if that process is gone, remove the file`);
    this.name = "LockTimeoutError";
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function breakIfStale(path: string): void {
  try {
    const holder = Number(readFileSync(path, "utf8"));
    const age = Date.now() - statSync(path).mtimeMs;
    if (age < STALE_AFTER_MS || (holder > 0 && pidAlive(holder))) return;
    // Rename first: of several processes breaking the same stale lock, exactly one succeeds.
    const aside = `${path}.stale.${process.pid}`;
    renameSync(path, aside);
    // Between our read and the rename another process may have broken it and a live one taken
    // it: if what we moved aside is not the dead holder's, put it back.
    if (Number(readFileSync(aside, "utf8")) !== holder) linkSync(aside, path);
    unlinkSync(aside);
  } catch {
    // gone meanwhile, or another process broke it: just retry
  }
}

export function withFileLock<T>(path: string, fn: () => T, timeoutMs = 10_000): T {
  const started = Date.now();
  let fd = -1;
  for (let attempt = 0; fd < 0; attempt++) {
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (Date.now() - started > timeoutMs) {
        let holder = "";
        try {
          holder = readFileSync(path, "utf8");
        } catch {
          // released just now
        }
        throw new LockTimeoutError(path, timeoutMs, holder);
      }
      if (attempt % 50 === 49) breakIfStale(path);
      // Short waits: a holder keeps the lock ~1 ms, and ten ADDs in parallel queue behind each other;
      // waking at most 2 ms late (not 5) keeps the queue moving. A retry is one failed open(2).
      sleepSync(Math.min(1 + attempt, 2));
    }
  }
  try {
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return fn();
  } finally {
    unlinkSync(path);
  }
}
