// Network namespaces. A netlink socket belongs to the namespace it was created in, so a handle
// for another namespace switches the main thread in with setns(2), creates its socket, and
// switches straight back: later calls need no switching, and nothing else in the process (libuv
// threads, timers, other handles) ever runs in the wrong namespace.
import { closeSync, openSync } from "node:fs";
import { NetnsError } from "./errors.js";
import { getLibc } from "./libc.js";

const CLONE_NEWNET = 0x40000000;

export function openNetnsFd(netnsPath: string): number {
  try {
    return openSync(netnsPath, "r");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new NetnsError(netnsPath, code === "ENOENT" ? "does not exist (was the namespace deleted?)" : `cannot open (${code})`);
  }
}

/** Runs `fn` with the calling thread inside the namespace at `netnsPath`, then switches back. */
export function inNetns<T>(netnsPath: string, fn: () => T): T {
  const libc = getLibc();
  const target = openNetnsFd(netnsPath);
  let home = -1;
  try {
    home = openSync("/proc/thread-self/ns/net", "r");
    if (libc.setns(target, CLONE_NEWNET) !== 0) {
      const errno = libc.errno();
      throw new NetnsError(netnsPath, errno === 22 ? "is not a network namespace" : `setns failed (errno ${errno})`);
    }
    try {
      return fn();
    } finally {
      if (libc.setns(home, CLONE_NEWNET) !== 0) {
        // Continuing in the wrong namespace would corrupt every later operation: this must win.
        // eslint-disable-next-line no-unsafe-finally
        throw new NetnsError("/proc/thread-self/ns/net", `cannot switch back (errno ${libc.errno()}); aborting`);
      }
    }
  } finally {
    closeSync(target);
    if (home >= 0) closeSync(home);
  }
}
