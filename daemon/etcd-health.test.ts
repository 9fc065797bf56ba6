import { describe, expect, it } from "vitest";

describe("etcd health for readiness", async () => {
  const { EtcdHealth } = await import("./etcd-health.js");
  it("reports an outage only after the grace period without an answer", () => {
    let now = 1_000_000;
    const h = new EtcdHealth("http://e:2379", 5_000, () => now);
    expect(h.problem()).toMatch(/not reached yet/);
    h.answered();
    expect(h.problem()).toBeUndefined();
    now += 1_000;
    h.failed(new Error("stream reset"));
    now += 3_000;
    expect(h.problem()).toBeUndefined(); // a blip
    now += 3_000;
    expect(h.problem()).toMatch(/etcd unreachable at http:\/\/e:2379 since .* \(stream reset\)/);
    h.answered();
    expect(h.problem()).toBeUndefined();
  });
});
