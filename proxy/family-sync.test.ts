import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FamilySyncLoop, type Log } from "./family-sync.js";
import { dualStackCluster } from "./fixtures.js";
import type { IpFamily } from "./model.js";
import { ProxyModeUnavailableError, type Proxier } from "./proxier.js";
import { servicePorts } from "./service-ports.js";

/** A proxier whose syncs fail while `failing` is set; it counts what it was asked to do. */
class FakeProxier implements Proxier {
  readonly mode = "iptables";
  failing = false;
  initFails = false;
  syncs = 0;
  inits = 0;
  invalidations = 0;
  constructor(readonly family: IpFamily) {}
  init(): void {
    this.inits++;
    if (this.initFails) throw new Error("ip6tables-restore: Could not fetch rule set generation id");
  }
  sync(): { written: number; bytes: number; ms: number } {
    this.syncs++;
    if (this.failing) throw new Error(`${this.family === "IPv6" ? "ip6tables" : "iptables"}-restore failed: line 3`);
    return { written: 1, bytes: 10, ms: 1 };
  }
  invalidate(): void {
    this.invalidations++;
  }
}

describe("FamilySyncLoop: each family syncs on its own", () => {
  let lines: { level: string; msg: string; fields: Record<string, unknown> }[];
  const log: Log = (level, msg, fields) => void lines.push({ level, msg, fields });
  beforeEach(() => {
    lines = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  const state = dualStackCluster();
  const make = (): [FakeProxier, FakeProxier, FamilySyncLoop, FamilySyncLoop] => {
    const [p4, p6] = [new FakeProxier("IPv4"), new FakeProxier("IPv6")];
    const [l4, l6] = [new FamilySyncLoop(p4, log, { node: "node1" }), new FamilySyncLoop(p6, log, { node: "node1" })];
    l4.start();
    l6.start();
    return [p4, p6, l4, l6];
  };

  it("a failing IPv6 family neither blocks nor hides the IPv4 family's syncs, and retries on its own backoff", async () => {
    const [p4, p6, l4, l6] = make();
    p6.failing = true;
    await Promise.all([l4.update(servicePorts(state, "node1", "IPv4")), l6.update(servicePorts(state, "node1", "IPv6"))]);
    expect(lines.map((l) => `${l.fields.family} ${l.level} ${l.msg}`).sort()).toEqual(["IPv4 info rules synced", "IPv6 error rule sync failed; will retry"]);
    const of = (family: IpFamily) => lines.find((l) => l.fields.family === family)!.fields;
    expect(of("IPv4")).toMatchObject({ node: "node1", mode: "iptables", reason: "change", servicePorts: 4, endpoints: 6 });
    expect(of("IPv6")).toMatchObject({ node: "node1", mode: "iptables", error: "ip6tables-restore failed: line 3", retryInMs: 1000 });
    // Retries back off 1 s, 2 s, 4 s; the IPv4 family keeps syncing meanwhile, never retried.
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.advanceTimersByTimeAsync(2_000);
    await l4.repair();
    expect(lines.filter((l) => l.fields.family === "IPv6").map((l) => l.fields.retryInMs)).toEqual([1000, 2000, 4000]);
    expect([p4.syncs, p6.syncs]).toEqual([2, 3]);
    p6.failing = false;
    await vi.advanceTimersByTimeAsync(4_000);
    expect(lines.at(-1)).toMatchObject({ msg: "rules synced", fields: { family: "IPv6", reason: "retry", servicePorts: 4 } });
    // Recovered: the backoff starts again from 1 s.
    p6.failing = true;
    await l6.repair();
    expect(lines.at(-1)!.fields.retryInMs).toBe(1000);
    l4.stop();
    l6.stop();
  });

  it("syncs a family only when its own service ports change", async () => {
    const [p4, p6, l4, l6] = make();
    await Promise.all([l4.update(servicePorts(state, "node1", "IPv4")), l6.update(servicePorts(state, "node1", "IPv6"))]);
    const after = dualStackCluster();
    after.endpointSlices.find((s) => s.addressType === "IPv6")!.endpoints[0]!.addresses = ["fd00:10:244:1::9"];
    await Promise.all([l4.update(servicePorts(after, "node1", "IPv4")), l6.update(servicePorts(after, "node1", "IPv6"))]);
    expect([p4.syncs, p6.syncs]).toEqual([1, 2]);
  });

  it("an init that fails is logged with its family and run again before the next sync", async () => {
    const p6 = new FakeProxier("IPv6");
    p6.initFails = true;
    const l6 = new FamilySyncLoop(p6, log, { node: "node1" });
    l6.start();
    expect(lines[0]).toMatchObject({ level: "error", msg: "proxy init failed; the next sync tries again", fields: { family: "IPv6", error: "ip6tables-restore: Could not fetch rule set generation id" } });
    p6.initFails = false;
    await l6.update(servicePorts(state, "node1", "IPv6"));
    expect([p6.inits, p6.syncs, lines.at(-1)!.msg]).toEqual([2, 1, "rules synced"]);
  });

  it("a mode the node cannot run stops the start", () => {
    const p = new FakeProxier("IPv6");
    p.init = () => {
      throw new ProxyModeUnavailableError("ipvs: IPv4 only");
    };
    expect(() => new FamilySyncLoop(p, log, {}).start()).toThrow(ProxyModeUnavailableError);
  });
});
