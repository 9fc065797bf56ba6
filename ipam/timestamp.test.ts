import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isoTimestamp } from "./timestamp.js";

describe("isoTimestamp", () => {
  it("writes what Date#toISOString writes, across leap days, centuries and the epoch", () => {
    for (const text of ["1970-01-01T00:00:00.000Z", "2000-02-29T23:59:59.999Z", "2100-03-01T00:00:00.001Z", "1969-12-31T23:59:59.999Z", "2026-12-06T12:34:56.789Z", "0001-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z"]) {
      expect(isoTimestamp(Date.parse(text))).toBe(text);
    }
  });

  it("agrees with Date#toISOString on any millisecond of years 0 to 9999", () => {
    const min = Date.parse("0000-01-01T00:00:00.000Z");
    const max = Date.parse("9999-12-31T23:59:59.999Z");
    fc.assert(fc.property(fc.integer({ min, max }), (ms) => isoTimestamp(ms) === new Date(ms).toISOString()), { numRuns: 20_000 });
  });

  it("is now by default", () => {
    const before = Date.now();
    const stamp = Date.parse(isoTimestamp());
    expect(stamp).toBeGreaterThanOrEqual(before);
    expect(stamp).toBeLessThanOrEqual(Date.now());
  });
});
