// An IPv6-only lab (--ip-family ipv6): no IPv4 address anywhere in it — the underlay, etcd, the WAN,
// the pods and the Services are IPv6 alone. The network config is flannel's EnableIPv4: false; leases
// are keyed as flannel's etcd registry keys them; weftd programs weft-v6.1 only; every matrix row
// (whose addresses are now IPv6) passes — asserted on etcd's contents, kernel state and packets.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, metricValue, useLab, type LabStatus } from "../helpers/lab.js";
import { ipJson, run, watchEchoRequests } from "../helpers/netns.js";
import { kube } from "../helpers/services.js";

const { lab, stateDir, status } = useLab("v6", ["--nodes", "2", "--pods-per-node", "2", "--ip-family", "ipv6"]);
const k = kube(lab);

type MatrixRow = { condition: string; to: string; cells: { protocol: string; ok?: boolean; note?: string }[] };
const etcdctl = (s: LabStatus, ...args: string[]) => run("ip", ["netns", "exec", s.etcd.netns, "etcdctl", `--endpoints=${s.etcd.endpoints[0]}`, ...args]);
const ping6 = (fromNs: string, to: string, count = 3) => Number(/(\d+) received/.exec(spawnSync("ip", ["netns", "exec", fromNs, "ping", "-6", "-q", "-c", String(count), "-i", "0.2", "-W", "1", to], { encoding: "utf8" }).stdout)?.[1] ?? -1);
const ipv4Addresses = (netns: string): string[] => ipJson<{ ifname: string; addr_info: { local: string }[] }[]>(netns, ["-4", "addr", "show"]).flatMap((l) => l.addr_info.map((a) => `${l.ifname} ${a.local}`)).filter((a) => !a.startsWith("lo "));

describe("an IPv6-only lab", () => {
  it("leases IPv6 subnets alone, keyed and valued as flannel's etcd registry writes them, and writes subnet.env without FLANNEL_NETWORK", () => {
    const s = status();
    const leases = etcdctl(s, "get", "--prefix", "/weft/network/subnets/").trim().split("\n");
    expect(leases.filter((_, i) => i % 2 === 0)).toHaveLength(2);
    for (const n of s.nodes) {
      const env = readFileSync(join(stateDir, n.name, "subnet.env"), "utf8");
      expect(env).not.toMatch(/^FLANNEL_(NETWORK|SUBNET)=/m);
      expect(env).toMatch(/^FLANNEL_IPV6_NETWORK=fd00:10:244::\/56$/m);
      const gateway = /^FLANNEL_IPV6_SUBNET=(\S+)$/m.exec(env)?.[1] ?? "";
      expect(gateway).toBe(n.subnet);
      const key = `/weft/network/subnets/0.0.0.0-0&${gateway.replace(/::1\/64$/, "::-64")}`;
      expect(JSON.parse(etcdctl(s, "get", key, "--print-value-only"))).toEqual({ PublicIP: "0.0.0.0", PublicIPv6: n.underlayIp, BackendType: "vxlan", BackendV6Data: { VNI: 1, VtepMAC: expect.stringMatching(/^06:01:/) } });
    }
  });

  it("has no IPv4 address on any node or pod, and programs the IPv6 device alone", async () => {
    const [n1, n2] = status().nodes;
    for (const n of [n1!, n2!]) {
      expect(ipv4Addresses(n.netns)).toEqual([]);
      for (const p of n.pods) expect(ipv4Addresses(p.netns)).toEqual([]);
      expect(ipJson<{ ifname: string }[]>(n.netns, ["link", "show", "type", "vxlan"]).map((l) => l.ifname)).toEqual(["weft-v6.1"]);
    }
    const subnet2 = n2!.subnet.replace(/::1\/64$/, "::/64");
    await eventually("node1 routes node2's subnet through weft-v6.1", () => ipJson<{ dev: string; flags?: string[] }[]>(n1!.netns, ["-6", "route", "show", subnet2]).some((r) => r.dev === "weft-v6.1" && (r.flags ?? []).includes("onlink")));
    expect(metricValue(n1!.netns, "weft_remote_nodes_programmed_ipv6")).toBe(1);
    expect(metricValue(n1!.netns, "weft_remote_nodes_programmed")).toBe(1);
  });

  it("carries pod → pod across nodes with the pod's own source, and masquerades pod → WAN behind the node's address", () => {
    const s = status();
    const [n1, n2] = s.nodes;
    const a = n1!.pods[0]!;
    const b = n2!.pods[0]!;
    const atB = watchEchoRequests(b.netns, a.ip);
    try {
      expect(ping6(a.netns, b.ip, 5)).toBe(5);
      expect(atB.count()).toBe(5);
    } finally {
      atB.remove();
    }
    const wan = (s as LabStatus & { wan: { netns: string; ip: string } }).wan;
    const atWan = watchEchoRequests(wan.netns, n1!.underlayIp);
    try {
      expect(ping6(a.netns, wan.ip)).toBe(3);
      expect(atWan.count()).toBe(3);
    } finally {
      atWan.remove();
    }
  });

  it("runs Services on IPv6 alone: cluster IPs from fd00:10:96::/112, DNS answering AAAA and no A", () => {
    const dns = JSON.parse(k.must("get", "svc", "kube-dns", "-n", "kube-system", "-o", "json")) as { spec: { clusterIP: string; ipFamilies: string[] } };
    expect(dns.spec).toMatchObject({ clusterIP: "fd00:10:96::a", ipFamilies: ["IPv6"] });
    expect(k.exec("node1-pod1", "dig", "+short", "kube-dns.kube-system.svc.cluster.local", "AAAA")).toBe("fd00:10:96::a");
    expect(k.exec("node1-pod1", "dig", "+short", "kube-dns.kube-system.svc.cluster.local", "A")).toBe("");
  });

  it("passes every applicable cell of the matrix, each row over IPv6", () => {
    const r = lab("matrix", "--json");
    const rows = JSON.parse(r.out) as MatrixRow[];
    expect(rows.flatMap((row) => row.cells.filter((c) => c.ok === false).map((c) => `${row.condition}/${c.protocol}: ${c.note ?? ""}`))).toEqual([]);
    expect(r.code).toBe(0);
    const passed = (condition: string): string[] => rows.find((row) => row.condition === condition)?.cells.filter((c) => c.ok).map((c) => c.protocol) ?? [];
    expect(passed("pod → pod, across nodes (VXLAN)")).toEqual(["ICMP", "TCP", "UDP", "SCTP", "HTTP/1.1", "HTTP/2", "gRPC"]);
    for (const c of ["pod → ClusterIP", "pod → ClusterIP by DNS name", "node → ClusterIP", "wan → NodePort", "wan → LoadBalancer", "wan → pod (hostPort)"]) expect(passed(c), c).toEqual(["TCP", "UDP", "SCTP", "HTTP/1.1", "HTTP/2", "gRPC"]);
    expect(passed("wan → Ingress")).toEqual(["HTTP/1.1", "HTTP/2", "gRPC"]);
    expect(passed("pod → wan (masqueraded)")).toEqual(["ICMP", "TCP", "UDP", "SCTP", "HTTP/1.1", "HTTP/2", "gRPC"]);
    // No IPv4 in any row's path.
    for (const row of rows.filter((x) => x.to !== "-")) expect(row.to, row.condition).not.toMatch(/\b\d+\.\d+\.\d+\.\d+\b/);
  }, 120_000);
});
