// What each Service contributed to the last applied rule set, keyed by its port entry's JSON, so the
// next build reuses the strings of every unchanged Service: the rule diff then compares them by
// reference, and a sync costs what changed, not what exists.
import type { ServicePortEntry } from "./service-ports.js";

/** The view a rule builder takes: read `prev`, fill `next`. */
export interface BuildCache<T> {
  prev: Map<string, T>;
  next: Map<string, T>;
}

/** Output for `p`: the previous build's when `p` is unchanged, else `build()`; recorded for the next. */
export function cachedPort<T>(cache: BuildCache<T> | undefined, p: ServicePortEntry, build: () => T): T {
  if (!cache) return build();
  const key = JSON.stringify(p);
  const out = cache.prev.get(key) ?? cache.next.get(key) ?? build();
  cache.next.set(key, out);
  return out;
}

export class PortCache<T> {
  private applied = new Map<string, T>();

  /** A build's cache; `commit` it once its rules are in the kernel. */
  begin(): BuildCache<T> & { commit(): void } {
    const next = new Map<string, T>();
    return { prev: this.applied, next, commit: () => void (this.applied = next) };
  }
}
