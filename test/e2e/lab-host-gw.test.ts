// The host-gw backend on a dual-stack lab: no device and no encapsulation, a route to each other
// node's subnet via its underlay address on both families, flannel's host-gw lease, the pods' MTU the
// underlay's, the whole matrix; and a node that is not on this node's L2 refused loudly (/readyz and a
// log line name it, no route is made) rather than given a route the kernel would blackhole.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, metricValue, readyz, useLab, type LabStatus } from "../helpers/lab.js";
import { ipJson, run } from "../helpers/netns.js";

const { lab, stateDir, status } = useLab("h", ["--nodes", "2", "--pods-per-node", "2", "--ip-family", "dual", "--backend", "host-gw"]);

type Pod = { name: string; netns: string; ip: string; ip6: string };
type DualStatus = LabStatus & { nodes: (LabStatus["nodes"][number] & { underlayIp6: string; pods: Pod[] })[] };
const dual = (): DualStatus => status() as DualStatus;
type MatrixRow = { condition: string; cells: { protocol: string; ok?: boolean }[] };
const etcdctl = (s: DualStatus, ...args: string[]): string => run("ip", ["netns", "exec", s.etcd.netns, "etcdctl", `--endpoints=${s.etcd.endpoints[0]}`, ...args]);

describe("the host-gw backend on a dual-stack lab", () => {
  it("routes each other node's subnets via its underlay address on both families, with no overlay device, and writes flannel's host-gw lease", () => {
    const s = dual();
    const [n1, n2] = s.nodes;
    for (const [me, other] of [[n1!, n2!], [n2!, n1!]] as const) {
      const sub4 = other.pods[0]!.ip.replace(/\.\d+$/, ".0/24");
      const sub6 = other.pods[0]!.ip6.replace(/::\d+$/, "::/64");
      expect(ipJson<{ dst: string; gateway: string; dev: string; protocol: string }[]>(me.netns, ["route", "show", sub4])).toEqual([expect.objectContaining({ dst: sub4, gateway: other.underlayIp, dev: "eth0" })]);
      expect(ipJson<{ dst: string; gateway: string; dev: string }[]>(me.netns, ["-6", "route", "show", sub6])).toEqual([expect.objectContaining({ dst: sub6, gateway: other.underlayIp6, dev: "eth0" })]);
      expect(ipJson(me.netns, ["link", "show", "type", "vxlan"])).toEqual([]);
      const mtu = ipJson<{ mtu: number }[]>(me.netns, ["link", "show", "eth0"])[0]!.mtu;
      expect(readFileSync(join(stateDir, me.name, "subnet.env"), "utf8")).toMatch(new RegExp(`^FLANNEL_MTU=${mtu}$`, "m"));
    }
    const values = etcdctl(s, "get", "--prefix", "/weft/network/subnets/", "--print-value-only").trim().split("\n").map((l) => JSON.parse(l) as object);
    expect(values).toEqual(expect.arrayContaining(dual().nodes.map((n: DualStatus["nodes"][number]) => ({ PublicIP: n.underlayIp, PublicIPv6: n.underlayIp6, BackendType: "host-gw" }))));
  });

  it("passes every applicable cell of the matrix, pod → pod across nodes over host-gw", () => {
    const r = lab("matrix", "--json");
    const rows = JSON.parse(r.out) as MatrixRow[];
    expect(rows.flatMap((row) => row.cells.filter((c) => c.ok === false).map((c) => `${row.condition}/${c.protocol}`))).toEqual([]);
    expect(r.code).toBe(0);
    expect(rows.find((x) => x.condition === "pod → pod, across nodes (host-gw)")?.cells.filter((c) => c.ok).map((c) => c.protocol)).toEqual(["ICMP", "TCP", "UDP", "SCTP", "HTTP/1.1", "HTTP/2", "gRPC"]);
  }, 150_000);

  it("refuses a node that is not on its L2 loudly: no route, /readyz names it, counted once; ready again when it goes", async () => {
    const s = dual();
    const n1 = s.nodes[0]!;
    const key = "/weft/network/subnets/10.244.252.0-24";
    const badBefore = metricValue(n1.netns, "weft_bad_leases_total");
    etcdctl(s, "put", key, JSON.stringify({ PublicIP: "10.99.0.5", BackendType: "host-gw" }));
    try {
      await eventually("node1's /readyz names the unreachable node", () => readyz(n1.netns).status === 503 && readyz(n1.netns).body.includes("host-gw cannot reach node 10.99.0.5 (subnet 10.244.252.0/24): it is not on this node's underlay 192.168.56.11/24"));
      expect(ipJson(n1.netns, ["route", "show", "10.244.252.0/24"])).toEqual([]);
      await new Promise((r) => setTimeout(r, 4_500)); // two resyncs: logged and counted once
      expect(metricValue(n1.netns, "weft_bad_leases_total")).toBe(badBefore + 1);
      expect(readFileSync(join(stateDir, "node1", "weftd.log"), "utf8").split("\n").filter((l) => l.includes("host-gw cannot reach node 10.99.0.5"))).toHaveLength(1);
    } finally {
      etcdctl(s, "del", key);
    }
    await eventually("node1 ready again", () => readyz(n1.netns).status === 200);
  }, 30_000);
});
