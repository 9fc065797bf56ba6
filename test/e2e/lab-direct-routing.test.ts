// DirectRouting on the lab: nodes on one L2 network route pod subnets straight over the underlay (no
// VXLAN entries), and pods still reach each other with their own addresses.
import { describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { ipJson } from "../helpers/netns.js";

const { lab, status } = useLab("r", ["--nodes", "2", "--pods-per-node", "1", "--direct-routing"]);

describe("DirectRouting", () => {
  it("routes the other node's subnet via its underlay address, with no ARP/FDB on the VXLAN device, and pods talk", () => {
    const s = status();
    const [n1, n2] = s.nodes;
    const remote = n2!.subnet.replace(/\.1\/24$/, ".0/24");
    expect(ipJson<{ dst: string; gateway: string; dev: string }[]>(n1!.netns, ["route", "show", remote])).toEqual([expect.objectContaining({ dst: remote, gateway: n2!.underlayIp, dev: "eth0" })]);
    expect(ipJson<unknown[]>(n1!.netns, ["neigh", "show", "dev", "weft.1"])).toEqual([]);
    const r = lab("matrix", "--json");
    const rows = JSON.parse(r.out) as { condition: string; cells: { protocol: string; ok?: boolean }[] }[];
    const cross = rows.find((x) => x.condition === "pod → pod, across nodes (DirectRouting)");
    expect(cross?.cells.filter((c) => c.ok !== undefined).every((c) => c.ok)).toBe(true);
    // ICMP, TCP, UDP, SCTP, HTTP/1.1, HTTP/2, gRPC
    expect(cross?.cells.filter((c) => c.ok).length).toBe(7);
    expect(rows.find((x) => x.condition === "pod → pod, across nodes (VXLAN)")?.cells.every((c) => c.ok === undefined)).toBe(true);
  });
});
