import { describe, expect, it } from "vitest";
import type { Lease } from "../../../ipam/subnet-manager.js";
import type { KernelChange } from "../../../netlink/index.js";
import type { OverlayContext } from "./overlay-plan.js";
import { OverlayIndex, planRepair } from "./overlay-repair.js";

const lease = (n: number, mac = `02:01:c0:a8:38:${n.toString(16).padStart(2, "0")}`): Lease => ({ ipv4: { subnet: `10.244.${n}.0/24`, publicIp: `192.168.56.${n}`, vtepMac: mac }, backendType: "vxlan", vni: 1, expiresAt: new Date(0) });
const ctx: OverlayContext = { ownSubnet: "10.244.11.0/24", ownPublicIp: "192.168.56.11", vxlanIndex: 7, underlayIndex: 2, underlayCidr: "192.168.56.11/24", directRouting: false, family: 4 };
const device = { index: 7, mtu: 1450 };
const route = (op: "new" | "del", dst: string, gateway: string, extra: object = {}): KernelChange => ({ kind: "route", op, route: { family: 4, dst, gateway, oif: 7, onlink: true, protocol: 117, ...extra } });
const arp = (op: "new" | "del", dst: string, lladdr: string): KernelChange => ({ kind: "neigh", op, neigh: { family: 4, ifindex: 7, dst, lladdr, state: 0x80 } });
const fdb = (op: "new" | "del", lladdr: string, dst: string): KernelChange => ({ kind: "neigh", op, neigh: { family: "bridge", ifindex: 7, dst, lladdr, state: 0x80, flags: 2 } });

function indexOf(...leases: Lease[]): OverlayIndex {
  const i = new OverlayIndex(4);
  i.rebuild(leases);
  return i;
}

describe("drift repair from the kernel's notifications", () => {
  it("ignores our own changes coming back: entries the leases want, removals of leases that left", () => {
    const index = indexOf(lease(11), lease(12));
    const own = [route("new", "10.244.12.0/24", "10.244.12.0"), arp("new", "10.244.12.0", "02:01:c0:a8:38:0c"), fdb("new", "02:01:c0:a8:38:0c", "192.168.56.12"), route("del", "10.244.13.0/24", "10.244.13.0"), arp("del", "10.244.13.0", "02:01:c0:a8:38:0d")];
    expect(planRepair(own, index, ctx, device)).toEqual({ reapply: [], stray: { addRoutes: [], delRoutes: [], addNeighs: [], delNeighs: [], addFdb: [], delFdb: [] }, full: false });
  });

  it("puts back a lease's route, ARP or FDB entry that someone removed or altered, once per lease", () => {
    const l12 = lease(12);
    const index = indexOf(lease(11), l12, lease(13));
    const plan = planRepair([route("del", "10.244.12.0/24", "10.244.12.0"), arp("del", "10.244.12.0", "02:01:c0:a8:38:0c"), fdb("new", "02:01:c0:a8:38:0c", "192.168.56.99")], index, ctx, device);
    expect(plan.reapply).toEqual([l12]);
    expect(planRepair([route("new", "10.244.13.0/24", "10.244.99.0")], index, ctx, device).reapply.map((l) => l.ipv4?.subnet)).toEqual(["10.244.13.0/24"]);
  });

  it("removes weft entries that no lease wants, and leaves other protocols' and other devices' entries alone", () => {
    const index = indexOf(lease(11), lease(12));
    const plan = planRepair([route("new", "10.244.50.0/24", "10.244.50.0"), arp("new", "10.244.50.0", "02:00:00:00:00:50"), fdb("new", "02:00:00:00:00:50", "192.168.56.50"), route("new", "10.9.0.0/24", "10.244.12.0", { protocol: 3 }), { kind: "neigh", op: "new", neigh: { family: 4, ifindex: 2, dst: "192.168.56.1", lladdr: "02:aa:00:00:00:01" } }], index, ctx, device);
    expect(plan.reapply).toEqual([]);
    expect(plan.stray.delRoutes).toEqual([{ dst: "10.244.50.0/24", gateway: "10.244.50.0", oif: 7, onlink: true }]);
    expect(plan.stray.delNeighs).toEqual([{ dst: "10.244.50.0", lladdr: "02:00:00:00:00:50" }]);
    expect(plan.stray.delFdb).toEqual([{ lladdr: "02:00:00:00:00:50", dst: "192.168.56.50" }]);
  });

  it("asks for a full pass when the device is deleted, set down or given another MTU, or notifications were lost", () => {
    const index = indexOf(lease(12));
    const link = (op: "new" | "del", up: boolean, mtu: number): KernelChange => ({ kind: "link", op, link: { index: 7, name: "weft.1", up, mtu } });
    expect(planRepair([link("del", true, 1450)], index, ctx, device).full).toBe(true);
    expect(planRepair([link("new", false, 1450)], index, ctx, device).full).toBe(true);
    expect(planRepair([link("new", true, 1400)], index, ctx, device).full).toBe(true);
    expect(planRepair([link("new", true, 1450)], index, ctx, device).full).toBe(false);
    expect(planRepair([{ kind: "overflow" }], index, ctx, device).full).toBe(true);
  });

  it("follows lease changes in its index: a replaced MAC is the new one's, a removed lease nobody's", () => {
    const index = indexOf(lease(12));
    index.change(lease(12), lease(12, "02:00:00:00:00:aa"));
    expect(planRepair([fdb("del", "02:01:c0:a8:38:0c", "192.168.56.12")], index, ctx, device).reapply).toEqual([]);
    expect(planRepair([fdb("del", "02:00:00:00:00:aa", "192.168.56.12")], index, ctx, device).reapply).toHaveLength(1);
    index.change(lease(12, "02:00:00:00:00:aa"), undefined);
    expect(planRepair([route("del", "10.244.12.0/24", "10.244.12.0")], index, ctx, device).reapply).toEqual([]);
  });
});
