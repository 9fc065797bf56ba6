import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { OwnLeaseGuard } from "./own-lease-guard.js";

describe("OwnLeaseGuard", () => {
  afterEach(() => vi.useRealTimers());

  it("holds removals while this node's lease is missing from etcd and for the grace period after it is back, claiming it again meanwhile", () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const claimAgain = vi.fn();
    const guard = new OwnLeaseGuard(10_000, claimAgain, () => pino({ level: "info" }, { write: (s: string) => void lines.push(s) }));
    guard.check(true);
    expect(guard.removalsHeld()).toBe(false);
    guard.check(false);
    guard.check(false);
    expect(guard.removalsHeld()).toBe(true);
    expect(claimAgain).toHaveBeenCalledTimes(2);
    expect(lines.filter((l) => l.includes("etcd has no lease for this node"))).toHaveLength(1); // said once
    guard.check(true);
    vi.advanceTimersByTime(9_999);
    expect(guard.removalsHeld()).toBe(true);
    vi.advanceTimersByTime(2);
    expect(guard.removalsHeld()).toBe(false);
    expect(lines.some((l) => l.includes("removals resume after a grace period"))).toBe(true);
  });
});
