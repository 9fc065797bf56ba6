import { describe, expect, it } from "vitest";
import type { Lease } from "../ipam/subnet-manager.js";
import type { Backend } from "./backend/backend.js";
import { KernelSync } from "./kernel-sync.js";
import type { Logger } from "./log.js";
import { DaemonMetrics } from "./metrics.js";
import type { RemoteLeases } from "./remote-leases.js";

const lease = (n: number): Lease => ({ ipv4: { subnet: `10.244.${n}.0/24`, publicIp: `192.168.56.${n}`, vtepMac: "02:00:00:00:00:01" }, backendType: "vxlan", vni: 1, expiresAt: new Date(0) });
const quiet = { warn: () => undefined, error: () => undefined, info: () => undefined } as unknown as Logger;

function harness(applyChange: () => Promise<void>) {
  const calls: string[] = [];
  const backend = {
    ensure: async () => (calls.push("ensure"), false),
    reconcile: async () => void calls.push("reconcile"),
    applyChange: async () => (calls.push("applyChange"), applyChange()),
    problems: () => [],
    close: () => undefined,
  } as unknown as Backend;
  const leases = { isValid: () => true, valid: () => [lease(11), lease(12)], remotesOf: () => [lease(12)] } as unknown as RemoteLeases;
  const sync = new KernelSync({ backend, own: () => lease(11), leases, removalsHeld: () => false, metrics: new DaemonMetrics(), log: () => quiet, fullResyncMs: 300_000 });
  return { sync, calls };
}

const settle = (sync: KernelSync): Promise<void> => Promise.race([sync.reconcile(), new Promise<void>((_, reject) => setTimeout(() => reject(new Error("the kernel work queue is stuck")), 1_000))]);

describe("the kernel work queue", () => {
  it("reconciles everything when one lease's change fails, and keeps taking work after it", async () => {
    const { sync, calls } = harness(async () => {
      throw new Error("netlink: EBUSY");
    });
    await sync.reconcile();
    sync.applyLeaseChange(undefined, lease(13));
    await settle(sync);
    expect(calls).toEqual(["ensure", "reconcile", "applyChange", "ensure", "reconcile"]);
  });

  it("reconciles everything for a lease change that comes before the first full reconcile", async () => {
    const { sync, calls } = harness(async () => undefined);
    sync.applyLeaseChange(undefined, lease(13));
    await settle(sync);
    expect(calls).toEqual(["ensure", "reconcile"]);
    expect(sync.firstReconcileDone()).toBe(true);
  });
});
