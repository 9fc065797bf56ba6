import { describe, expect, it } from "vitest";
import { parseNetworkConfig } from "../ipam/network-config.js";
import type { Lease } from "../ipam/subnet-manager.js";
import type { Logger } from "./log.js";
import { DaemonMetrics } from "./metrics.js";
import { RemoteLeases } from "./remote-leases.js";

const v6 = (n: number, ip = `fd00:56::${n}`): Lease => ({ ipv6: { subnet: `fd00:10:244:${n}::/64`, publicIp: ip, vtepMac: "06:01:00:00:00:01" }, backendType: "vxlan", vni: 1, expiresAt: new Date(0) });

describe("the other nodes' leases", () => {
  it("follows snapshots and events, judges leases by the network's first family once each, and tells remotes from this node's own", async () => {
    const warnings: string[] = [];
    const log = { warn: (_fields: object, msg: string) => void warnings.push(msg) } as unknown as Logger;
    const metrics = new DaemonMetrics();
    const book = new RemoteLeases(() => parseNetworkConfig({ EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00:10:244::/56" }), metrics, () => log);
    expect(book.apply({ type: "snapshot", leases: [v6(1), v6(2)] })).toBeUndefined();
    expect(book.apply({ type: "added", lease: v6(2, "fd00:56::22") })?.ipv6?.publicIp).toBe("fd00:56::2");
    const outside: Lease = { ...v6(3), ipv6: { ...v6(3).ipv6!, subnet: "fd00:10:245:3::/64" } };
    book.apply({ type: "added", lease: outside });
    expect(book.valid().map((l) => l.ipv6?.subnet)).toEqual(["fd00:10:244:1::/64", "fd00:10:244:2::/64"]);
    book.valid();
    expect(warnings).toEqual(["skipping a lease outside the network"]); // once, however often it is met
    expect((await metrics.registry.getSingleMetricAsString("weft_bad_leases_total")).trim().split("\n").at(-1)).toBe("weft_bad_leases_total 1");
    // An IPv4 lease on an IPv6-only network has no part of its first family: never valid.
    expect(book.isValid({ ipv4: { subnet: "10.244.1.0/24", publicIp: "192.168.56.1", vtepMac: "02:01:00:00:00:01" }, backendType: "vxlan", vni: 1, expiresAt: new Date(0) })).toBe(false);
    expect(book.remotesOf(v6(1)).map((l) => l.ipv6?.subnet)).toEqual(["fd00:10:244:2::/64"]);
    expect(book.remotesOf(v6(9, "fd00:56::22")).map((l) => l.ipv6?.subnet)).toEqual(["fd00:10:244:1::/64"]); // another lease of its own address is not a remote
    expect(book.apply({ type: "removed", lease: v6(1) })?.ipv6?.subnet).toBe("fd00:10:244:1::/64");
    expect(book.has(v6(1))).toBe(false);
  });
});
