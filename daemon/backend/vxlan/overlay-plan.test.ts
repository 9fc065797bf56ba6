import { describe, expect, it } from "vitest";
import type { Lease } from "../../../ipam/subnet-manager.js";
import { desiredOverlay, planLeaseChange, planOverlay, planSize, vtepAddress, type OverlayContext } from "./overlay-plan.js";
import { vtepMacFor } from "./vxlan-device.js";

const lease = (n: number, mac = `02:01:c0:a8:38:${n.toString(16).padStart(2, "0")}`, ip = `192.168.56.${n}`): Lease => ({
  ipv4: { subnet: `10.244.${n}.0/24`, publicIp: ip, vtepMac: mac },
  backendType: "vxlan",
  vni: 1,
  expiresAt: new Date(0),
});
const ctx: OverlayContext = { ownSubnet: "10.244.11.0/24", ownPublicIp: "192.168.56.11", vxlanIndex: 7, underlayIndex: 2, underlayCidr: "192.168.56.11/24", directRouting: false };

describe("overlay plan", () => {
  it("programs ARP, FDB and an onlink route for every other node, never for itself", () => {
    const want = desiredOverlay([lease(11), lease(12)], ctx);
    expect(want).toEqual({
      neighs: [{ dst: "10.244.12.0", lladdr: "02:01:c0:a8:38:0c" }],
      fdb: [{ lladdr: "02:01:c0:a8:38:0c", dst: "192.168.56.12" }],
      routes: [{ dst: "10.244.12.0/24", gateway: "10.244.12.0", oif: 7, onlink: true }],
    });
    expect(planSize(planOverlay(want, want))).toBe(0);
  });

  it("removes what belongs to a node that left, and replaces the entries of a node with a new MAC", () => {
    const before = desiredOverlay([lease(12), lease(13)], ctx);
    const after = desiredOverlay([lease(12, "02:aa:aa:aa:aa:aa")], ctx);
    const plan = planOverlay(after, before);
    expect(plan.delRoutes.map((r) => r.dst)).toEqual(["10.244.13.0/24"]);
    expect(plan.delNeighs.map((n) => n.dst)).toEqual(["10.244.13.0"]);
    expect(plan.addNeighs).toEqual([{ dst: "10.244.12.0", lladdr: "02:aa:aa:aa:aa:aa" }]);
    expect(plan.addFdb).toEqual([{ lladdr: "02:aa:aa:aa:aa:aa", dst: "192.168.56.12" }]);
    expect(plan.delFdb.map((f) => f.lladdr).sort()).toEqual(["02:01:c0:a8:38:0c", "02:01:c0:a8:38:0d"]);
    expect(plan.addRoutes).toEqual([]);
  });

  it("one lease event touches that node alone: join, leave, new MAC, and nothing for an unchanged lease", () => {
    expect(planLeaseChange(undefined, lease(12), ctx)).toEqual({ ...planOverlay(desiredOverlay([lease(12)], ctx), { routes: [], neighs: [], fdb: [] }) });
    const leave = planLeaseChange(lease(12), undefined, ctx);
    expect([leave.delRoutes.length, leave.delNeighs.length, leave.delFdb.length, planSize(leave)]).toEqual([1, 1, 1, 3]);
    const moved = planLeaseChange(lease(12), lease(12, "02:aa:aa:aa:aa:aa"), ctx);
    expect(moved).toMatchObject({ addNeighs: [{ dst: "10.244.12.0", lladdr: "02:aa:aa:aa:aa:aa" }], addFdb: [{ lladdr: "02:aa:aa:aa:aa:aa" }], delFdb: [{ lladdr: "02:01:c0:a8:38:0c" }], addRoutes: [], delRoutes: [] });
    expect(planSize(planLeaseChange(lease(12), lease(12), ctx))).toBe(0);
    expect(planSize(planLeaseChange(undefined, lease(11), ctx))).toBe(0); // this node's own lease
  });

  it("with DirectRouting, routes same-L2 nodes via their public IP and others over VXLAN", () => {
    const want = desiredOverlay([lease(12), lease(40, undefined, "10.0.0.40")], { ...ctx, directRouting: true });
    expect(want.routes).toEqual([
      { dst: "10.244.12.0/24", gateway: "192.168.56.12", oif: 2, onlink: false },
      { dst: "10.244.40.0/24", gateway: "10.244.40.0", oif: 7, onlink: true },
    ]);
    expect(want.neighs).toEqual([{ dst: "10.244.40.0", lladdr: "02:01:c0:a8:38:28" }]);
  });

  it("host-gw (routes only): a route via each same-L2 node's address, nothing for a node off the L2, no ARP or FDB", () => {
    const hostGw = (n: number, ip = `192.168.56.${n}`): Lease => ({ ipv4: { subnet: `10.244.${n}.0/24`, publicIp: ip }, backendType: "host-gw", vni: 0, expiresAt: new Date(0) });
    const want = desiredOverlay([hostGw(11), hostGw(12), hostGw(40, "10.0.0.40")], { ...ctx, vxlanIndex: 0, routesOnly: true });
    expect(want).toEqual({ routes: [{ dst: "10.244.12.0/24", gateway: "192.168.56.12", oif: 2, onlink: false }], neighs: [], fdb: [] });
  });

  it("programs each dual-stack lease's IPv6 part on the IPv6 device, skips IPv4-only leases there, and routes same-L2 IPv6 nodes directly", () => {
    const dual = (n: number): Lease => ({ ...lease(n), ipv6: { subnet: `fd00:10:244:${n.toString(16)}::/64`, publicIp: `fd00:56::${n.toString(16)}`, vtepMac: `06:01:00:00:00:${n.toString(16).padStart(2, "0")}` } });
    const ctx6: OverlayContext = { ...ctx, ownSubnet: "fd00:10:244:b::/64", ownPublicIp: "fd00:56::b", vxlanIndex: 9, underlayCidr: "fd00:56::b/64", family: 6 };
    expect(desiredOverlay([dual(11), dual(12), lease(13)], ctx6)).toEqual({
      neighs: [{ dst: "fd00:10:244:c::", lladdr: "06:01:00:00:00:0c" }],
      fdb: [{ lladdr: "06:01:00:00:00:0c", dst: "fd00:56::c" }],
      routes: [{ dst: "fd00:10:244:c::/64", gateway: "fd00:10:244:c::", oif: 9, onlink: true }],
    });
    // The IPv4 plan of the same leases is what it was.
    expect(desiredOverlay([dual(12)], ctx)).toEqual(desiredOverlay([lease(12)], ctx));
    expect(desiredOverlay([dual(12)], { ...ctx6, directRouting: true }).routes).toEqual([{ dst: "fd00:10:244:c::/64", gateway: "fd00:56::c", oif: 2, onlink: false }]);
    expect(vtepAddress("fd00:10:244:c::/64")).toBe("fd00:10:244:c::");
    // IPv6-only leases (no IPv4 part): the IPv6 plan is the same, the IPv4 one empty.
    const only6 = (n: number): Lease => ({ ipv6: dual(n).ipv6!, backendType: "vxlan", vni: 1, expiresAt: new Date(0) });
    expect(desiredOverlay([only6(11), only6(12)], ctx6)).toEqual(desiredOverlay([dual(11), dual(12)], ctx6));
    expect(desiredOverlay([only6(12)], ctx)).toEqual({ routes: [], neighs: [], fdb: [] });
    expect(vtepMacFor(1, "fd00:56::c")).toBe("06:01:00:00:00:0c");
  });

  it("derives the VTEP address and a stable MAC", () => {
    expect(vtepAddress("10.244.3.0/24")).toBe("10.244.3.0");
    expect(vtepMacFor(1, "192.168.56.11")).toBe("02:01:c0:a8:38:0b");
  });
});
