// The wireguard backend in flannel's one-device mode (Mode "auto") on a dual-stack lab: one device per
// node carrying both families, a peer per other node with both its subnets as allowed IPs, dialled at
// its IPv4 address (both sides' addresses are private, so flannel's auto picks IPv4), and pods reaching
// each other over both families through it.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ping, useLab, type LabStatus } from "../helpers/lab.js";
import { ipJson, run } from "../helpers/netns.js";
import { wgDevices, wgDump } from "../helpers/wireguard.js";

const { lab, status } = useLab("ga", ["--nodes", "2", "--pods-per-node", "1", "--ip-family", "dual", "--backend", "wireguard", "--wireguard-mode", "auto", "--no-services"]);

type Pod = { name: string; netns: string; ip: string; ip6: string };
type DualStatus = LabStatus & { nodes: (LabStatus["nodes"][number] & { underlayIp6: string; pods: Pod[] })[] };
type MatrixRow = { condition: string; cells: { protocol: string; ok?: boolean }[] };

describe("the wireguard backend in one-device (auto) mode on a dual-stack lab", () => {
  it("runs one device per node, its peers carrying both families' subnets, dialled over IPv4", () => {
    const s = status() as DualStatus;
    const [n1, n2] = s.nodes;
    for (const [me, other] of [[n1!, n2!], [n2!, n1!]] as const) {
      const devices = wgDevices(me.netns);
      expect(devices).toHaveLength(1);
      const dev = devices[0]!;
      const dump = wgDump(me.netns, dev)!;
      expect(dump.listenPort).toBe(51820);
      const sub4 = other.pods[0]!.ip.replace(/\.\d+$/, ".0/24");
      const sub6 = other.pods[0]!.ip6.replace(/::\d+$/, "::/64");
      expect(dump.peers.map((p) => [p.endpoint, [...p.allowedIps].sort()])).toEqual([[`${other.underlayIp}:51820`, [sub4, sub6].sort()]]);
      expect(ipJson<{ dev: string }[]>(me.netns, ["route", "show", "10.244.0.0/16"])[0]?.dev).toBe(dev);
      expect(ipJson<{ dev: string }[]>(me.netns, ["-6", "route", "show", "fd00:10:244::/56"])[0]?.dev).toBe(dev);
    }
    // The one device listens on ListenPort: both families' lease data say so.
    const value = run("ip", ["netns", "exec", s.etcd.netns, "etcdctl", `--endpoints=${s.etcd.endpoints[0]}`, "get", "--prefix", "/weft/network/subnets/", "--print-value-only"]).trim().split("\n")[0]!;
    expect(JSON.parse(value)).toMatchObject({ BackendType: "wireguard", BackendData: { Port: 51820 }, BackendV6Data: { Port: 51820 } });
  });

  it("carries pod traffic of both families across nodes through the one device", () => {
    const [n1, n2] = (status() as DualStatus).nodes;
    const [a, b] = [n1!.pods[0]!, n2!.pods[0]!];
    expect(ping(a.netns, b.ip).received).toBe(3);
    const six = spawnSync("ip", ["netns", "exec", a.netns, "ping", "-6", "-q", "-c", "3", "-i", "0.2", "-W", "1", b.ip6], { encoding: "utf8" }).stdout;
    expect(six).toMatch(/3 packets transmitted, 3 received/);
    const rows = JSON.parse(lab("matrix", "--json").out) as MatrixRow[];
    for (const condition of ["pod → pod, across nodes (WireGuard)", "pod → pod, across nodes (IPv6)"]) {
      const row = rows.find((r) => r.condition === condition);
      expect(row?.cells.filter((c) => c.ok === false).map((c) => c.protocol), condition).toEqual([]);
      expect(row?.cells.some((c) => c.ok)).toBe(true);
    }
  }, 90_000);
});
