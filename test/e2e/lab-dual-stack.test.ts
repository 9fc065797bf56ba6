// A dual-stack lab (--ip-family dual): an IPv6 underlay and WAN beside the IPv4 ones, a dual-stack
// network config, and pods with an address of each family. IPv6 crosses nodes through weft-v6.1 with
// the leases' IPv6 parts, keeps the pod's source between pods, is masqueraded to the WAN; a DROP for
// IPv6 alone stops IPv6 alone, and the anti-spoofing filter checks IPv6 sources. Services are
// dual-stack as the API server and kube-proxy make them: a cluster IP per family, ip6tables rules
// beside iptables ones, AAAA and ip6.arpa records — asserted on packets counted where they arrive,
// on kernel state and on answers from real clients (curl, dig) in the pods.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, metricValue, ping, useLab, type LabStatus } from "../helpers/lab.js";
import { ipJson, run, watchEchoRequests } from "../helpers/netns.js";
import { curl, EXAMPLES, FIXTURES, iptablesSave, kube, within } from "../helpers/services.js";

const { lab, stateDir, status } = useLab("6", ["--nodes", "2", "--pods-per-node", "2", "--ip-family", "dual"]);
const k = kube(lab);

type MatrixRow = { condition: string; cells: { protocol: string; ok?: boolean; note?: string }[] };
const matrix = (): { code: number; rows: MatrixRow[] } => {
  const r = lab("matrix", "--json");
  return { code: r.code, rows: JSON.parse(r.out) as MatrixRow[] };
};
const failedCells = (rows: MatrixRow[]): string[] => rows.flatMap((row) => row.cells.filter((c) => c.ok === false).map((c) => `${row.condition}/${c.protocol}`)).sort();

type DualStatus = LabStatus & { nodes: (LabStatus["nodes"][number] & { underlayIp6: string; pods: { name: string; netns: string; ip: string; ip6: string }[] })[]; wan: { netns: string; ip6: string } };
const dual = (): DualStatus => status() as DualStatus;

function ping6(fromNs: string, to: string, count = 3): { sent: number; received: number } {
  const r = spawnSync("ip", ["netns", "exec", fromNs, "ping", "-6", "-q", "-c", String(count), "-i", "0.2", "-W", "1", to], { encoding: "utf8" });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0) };
}

describe("a dual-stack lab", () => {
  it("gives every pod both families and writes the IPv6 subnet where flannel does: subnet.env and the lease's key and value", () => {
    const s = dual();
    const etcdctl = (...args: string[]) => run("ip", ["netns", "exec", s.etcd.netns, "etcdctl", `--endpoints=${s.etcd.endpoints[0]}`, ...args]);
    for (const n of s.nodes) {
      const pod = n.pods[0]!;
      expect(pod.ip6).toMatch(/^fd00:10:244:[0-9a-f]+::2$/);
      const env = readFileSync(join(stateDir, n.name, "subnet.env"), "utf8");
      const sub6 = /^FLANNEL_IPV6_SUBNET=(\S+)$/m.exec(env)?.[1];
      expect(env).toMatch(/^FLANNEL_IPV6_NETWORK=fd00:10:244::\/56$/m);
      expect(sub6).toBe(`${pod.ip6.replace(/::2$/, "::1")}/64`);
      const key = `/weft/network/subnets/${n.subnet.replace(/\.1\/24$/, ".0-24")}&${pod.ip6.replace(/::2$/, "::")}-64`;
      const value = JSON.parse(etcdctl("get", key, "--print-value-only")) as { PublicIPv6: string; BackendV6Data: { VtepMAC: string } };
      expect(value.PublicIPv6).toBe(n.underlayIp6);
      expect(value.BackendV6Data.VtepMAC).toMatch(/^06:01:/);
    }
  });

  it("carries IPv6 pod → pod across nodes through weft-v6.1 with the pod's own source, and programs each remote lease's IPv6 part", async () => {
    const [n1, n2] = dual().nodes;
    const a = n1!.pods[0]!;
    const b = n2!.pods[0]!;
    const vtep6 = b.ip6.replace(/::2$/, "::");
    const subnet6 = `${vtep6}/64`;
    await eventually("node1 routes node2's IPv6 subnet through weft-v6.1", () => ipJson<{ dst: string; dev: string; gateway?: string; flags?: string[] }[]>(n1!.netns, ["-6", "route", "show", subnet6]).some((r) => r.dev === "weft-v6.1" && r.gateway === vtep6 && (r.flags ?? []).includes("onlink")));
    const neigh = ipJson<{ dst: string; lladdr?: string; state?: string[] }[]>(n1!.netns, ["-6", "neigh", "show", "dev", "weft-v6.1"]).find((x) => x.dst === vtep6);
    expect(neigh?.state).toContain("PERMANENT");
    const fdb = JSON.parse(run("ip", ["netns", "exec", n1!.netns, "bridge", "-j", "fdb", "show", "dev", "weft-v6.1"])) as { mac: string; dst?: string }[];
    expect(fdb.filter((f) => f.dst === n2!.underlayIp6).map((f) => f.mac)).toEqual([neigh?.lladdr]);
    const watch = watchEchoRequests(b.netns, a.ip6);
    try {
      expect(ping6(a.netns, b.ip6, 5)).toEqual({ sent: 5, received: 5 });
      expect(watch.count()).toBe(5); // arrived from the pod's own address: pod to pod is never masqueraded
    } finally {
      watch.remove();
    }
    expect(ping(a.netns, b.ip).received).toBe(3); // and IPv4 as before
    // Per family, in weftd's metrics.
    expect(metricValue(n1!.netns, "weft_remote_nodes_programmed")).toBe(1);
    expect(metricValue(n1!.netns, "weft_remote_nodes_programmed_ipv6")).toBe(1);
  });

  it("lists every pod's IPv6 addresses in its node's anti-spoofing set, and drops IPv6 a pod sends from an address not its own", () => {
    const [n1, n2] = dual().nodes;
    const a = n1!.pods[0]!;
    const b = n2!.pods[0]!;
    const set6 = JSON.parse(run("ip", ["netns", "exec", n1!.netns, "nft", "-j", "list", "set", "bridge", "weft", "pod-addresses6"])) as { nftables: { set?: { elem?: { concat: string[] }[] } }[] };
    const aMac = `0a:58:${a.ip.split(".").map((o) => Number(o).toString(16).padStart(2, "0")).join(":")}`;
    const listed = (set6.nftables.find((i) => i.set)?.set?.elem ?? []).filter((e) => e.concat[1] === aMac).map((e) => e.concat[2]);
    expect(listed).toHaveLength(3);
    expect(listed).toEqual(expect.arrayContaining(["::", a.ip6, expect.stringMatching(/^fe80::858:aff:fef4:/)]));
    // A forged source from the pod's own subnet: the pod has the address, the filter does not let it out.
    const forged = a.ip6.replace(/::2$/, "::99");
    run("ip", ["-n", a.netns, "addr", "add", `${forged}/128`, "dev", "eth0", "nodad"]);
    const watch = watchEchoRequests(b.netns, forged);
    try {
      spawnSync("ip", ["netns", "exec", a.netns, "ping", "-6", "-q", "-c", "3", "-i", "0.2", "-W", "1", "-I", forged, b.ip6]);
      expect(watch.count()).toBe(0);
    } finally {
      watch.remove();
      run("ip", ["-n", a.netns, "addr", "del", `${forged}/128`, "dev", "eth0"]);
    }
    expect(ping6(a.netns, b.ip6).received).toBe(3); // from its own address it still goes through
  });

  it("masquerades IPv6 to the WAN behind the node's IPv6 address", () => {
    const s = dual();
    const n1 = s.nodes[0]!;
    const watch = watchEchoRequests(s.wan.netns, n1.underlayIp6);
    try {
      expect(ping6(n1.pods[0]!.netns, s.wan.ip6).received).toBe(3);
      expect(watch.count()).toBe(3);
    } finally {
      watch.remove();
    }
  });

  it("reaches a node programmed as flanneld programs it for IPv6 (flannel.1, flannel-v6.1, its lease as flannel writes it)", async () => {
    const s = dual();
    const n1 = s.nodes[0]!;
    const a = n1.pods[0]!;
    const prefix = (JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8")) as { prefix: string }).prefix;
    const fl = `${prefix}flannel`;
    const etcdctl = (...args: string[]) => run("ip", ["netns", "exec", s.etcd.netns, "etcdctl", `--endpoints=${s.etcd.endpoints[0]}`, ...args]);
    const key = "/weft/network/subnets/10.244.250.0-24&fd00:10:244:fa::-64";
    const inFl = (...args: string[]) => run("ip", ["-n", fl, ...args]);
    run("ip", ["netns", "add", fl]);
    try {
      // The node's underlay, on the lab's fabric; its devices, addresses and the pod gateway flanneld would set.
      run("ip", ["-n", `${prefix}fabric`, "link", "add", `${prefix}fl`, "type", "veth", "peer", "name", "eth0", "netns", fl]);
      run("ip", ["-n", `${prefix}fabric`, "link", "set", `${prefix}fl`, "master", "br0", "up"]);
      inFl("addr", "add", "192.168.56.50/24", "dev", "eth0");
      inFl("addr", "add", "fd00:56::32/64", "dev", "eth0", "nodad");
      inFl("link", "set", "eth0", "up");
      inFl("link", "add", "flannel.1", "type", "vxlan", "id", "1", "local", "192.168.56.50", "dev", "eth0", "dstport", "8472", "nolearning");
      inFl("link", "add", "flannel-v6.1", "type", "vxlan", "id", "1", "local", "fd00:56::32", "dev", "eth0", "dstport", "8472", "nolearning");
      inFl("link", "set", "flannel.1", "address", "02:fe:00:00:00:01", "up");
      inFl("link", "set", "flannel-v6.1", "address", "02:fe:00:00:00:61", "up");
      inFl("addr", "add", "10.244.250.0/32", "dev", "flannel.1");
      inFl("addr", "add", "fd00:10:244:fa::/128", "dev", "flannel-v6.1", "nodad");
      inFl("link", "add", "cni0", "type", "bridge");
      inFl("addr", "add", "10.244.250.1/24", "dev", "cni0");
      inFl("addr", "add", "fd00:10:244:fa::1/64", "dev", "cni0", "nodad");
      inFl("link", "set", "cni0", "up");
      // What flanneld programs for the weft node (from node1's lease), both families.
      const lease = JSON.parse(etcdctl("get", "--prefix", "/weft/network/subnets/", "--print-value-only").split("\n").find((l) => l.includes(`"${n1.underlayIp}"`)) ?? "{}") as { BackendData: { VtepMAC: string }; BackendV6Data: { VtepMAC: string } };
      const sub4 = n1.subnet.replace(/\.1\/24$/, ".0");
      const sub6 = a.ip6.replace(/::2$/, "::");
      inFl("neigh", "replace", sub4, "lladdr", lease.BackendData.VtepMAC, "dev", "flannel.1", "nud", "permanent");
      run("bridge", ["-n", fl, "fdb", "append", lease.BackendData.VtepMAC, "dev", "flannel.1", "dst", n1.underlayIp]);
      inFl("route", "add", `${sub4}/24`, "via", sub4, "dev", "flannel.1", "onlink");
      inFl("-6", "neigh", "replace", sub6, "lladdr", lease.BackendV6Data.VtepMAC, "dev", "flannel-v6.1", "nud", "permanent");
      run("bridge", ["-n", fl, "fdb", "append", lease.BackendV6Data.VtepMAC, "dev", "flannel-v6.1", "dst", n1.underlayIp6]);
      inFl("-6", "route", "add", `${sub6}/64`, "via", sub6, "dev", "flannel-v6.1", "onlink");
      // Its lease, as flanneld writes it (pkg/subnet MakeSubnetKey, LeaseAttrs, vxlanLeaseAttrs).
      etcdctl("put", key, JSON.stringify({ PublicIP: "192.168.56.50", PublicIPv6: "fd00:56::32", BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: "02:fe:00:00:00:01" }, BackendV6Data: { VNI: 1, VtepMAC: "02:fe:00:00:00:61" } }));
      await eventually("node1 routes the flannel node's IPv6 subnet", () => ipJson<{ dst: string; dev: string }[]>(n1.netns, ["-6", "route", "show", "fd00:10:244:fa::/64"]).some((r) => r.dev === "weft-v6.1"));
      expect(ipJson<{ dst: string; lladdr?: string }[]>(n1.netns, ["-6", "neigh", "show", "dev", "weft-v6.1"]).find((x) => x.dst === "fd00:10:244:fa::")?.lladdr).toBe("02:fe:00:00:00:61");
      expect(ping6(a.netns, "fd00:10:244:fa::1").received).toBe(3);
      expect(ping(a.netns, "10.244.250.1").received).toBe(3);
    } finally {
      etcdctl("del", key);
      spawnSync("ip", ["netns", "del", fl]);
    }
  });

  it("passes every applicable cell of the matrix, its IPv6 rows included", () => {
    const { code, rows } = matrix();
    expect(rows.map((r) => r.condition).filter((c) => c.includes("IPv6"))).toEqual(["pod → pod, same node (IPv6)", "pod → pod, across nodes (IPv6)", "pod → ClusterIP (IPv6)", "pod → ClusterIP by DNS name (IPv6)", "node → ClusterIP (IPv6)", "wan → NodePort (IPv6)", "wan → LoadBalancer (IPv6)", "pod → wan (IPv6, masqueraded)"]);
    expect(failedCells(rows)).toEqual([]);
    expect(code).toBe(0);
    // Every protocol on every IPv6 path; ICMP where the destination is an address (a Service maps ports).
    for (const row of rows.filter((r) => r.condition.includes("IPv6"))) expect(row.cells.filter((c) => c.ok).map((c) => c.protocol), row.condition).toEqual([...(/ClusterIP|NodePort|LoadBalancer/.test(row.condition) ? [] : ["ICMP"]), "TCP", "UDP", "SCTP", "HTTP/1.1", "HTTP/2", "gRPC"]);
  }, 120_000);

  it("a DROP of IPv6 alone on one node turns exactly the IPv6 cells of that path red", () => {
    const [n1, n2] = dual().nodes;
    const a = n1!.pods[0]!;
    const b = n2!.pods[0]!;
    const rule = ["FORWARD", "-d", b.ip6, "-j", "DROP"];
    expect(spawnSync("ip", ["netns", "exec", n2!.netns, "ip6tables", "-I", ...rule]).status).toBe(0);
    try {
      expect(ping6(a.netns, b.ip6).received).toBe(0);
      expect(ping(a.netns, b.ip).received).toBe(3);
      const { code, rows } = matrix();
      expect(failedCells(rows)).toEqual(["ICMP", "TCP", "UDP", "SCTP", "HTTP/1.1", "HTTP/2", "gRPC"].map((p) => `pod → pod, across nodes (IPv6)/${p}`).sort());
      expect(code).toBe(1);
    } finally {
      spawnSync("ip", ["netns", "exec", n2!.netns, "ip6tables", "-D", ...rule]);
    }
    expect(ping6(a.netns, b.ip6).received).toBe(3);
  }, 120_000);

  describe("dual-stack Services", () => {
    const ip6tablesSave = (netns: string): string => spawnSync("ip", ["netns", "exec", netns, "ip6tables-save", "-t", "nat"], { encoding: "utf8" }).stdout;
    type SvcJson = { spec: { clusterIP: string; clusterIPs: string[]; ipFamilies: string[]; ipFamilyPolicy: string } };
    const svc = (name: string): SvcJson => JSON.parse(k.must("get", "svc", name, "-o", "json")) as SvcJson;
    const podIps = (): { name: string; podIPs: string[] }[] => (JSON.parse(k.must("get", "pods", "-o", "json")) as { items: { metadata: { name: string }; status: { podIPs: { ip: string }[] } }[] }).items.map((p) => ({ name: p.metadata.name, podIPs: p.status.podIPs.map((x) => x.ip) }));
    const hello = (): string[][] => podIps().filter((p) => p.name.startsWith("hello-kubernetes-")).map((p) => p.podIPs);

    it("gives a PreferDualStack Service a cluster IP of each family and programs it in iptables and ip6tables on every node", async () => {
      k.must("apply", "-f", `${EXAMPLES}/clusterip/`);
      expect(k.must("apply", "-f", `${EXAMPLES}/dual-stack/`)).toContain("service/dual-demo created");
      await within(20_000, "three ready hello-kubernetes endpoints", () => k.endpoints("dual-demo").length === 3);
      const s = svc("dual-demo").spec;
      expect(s.ipFamilies).toEqual(["IPv4", "IPv6"]);
      expect(s.ipFamilyPolicy).toBe("PreferDualStack");
      expect(s.clusterIPs).toEqual([s.clusterIP, expect.stringMatching(/^fd00:10:96::[0-9a-f]{1,4}$/)]);
      // The pods have an address of each family, and each family's slice lists its own.
      for (const ips of hello()) expect(ips).toEqual([expect.stringMatching(/^10\.244\./), expect.stringMatching(/^fd00:10:244:/)]);
      const [v4, v6] = s.clusterIPs;
      for (const n of dual().nodes) {
        await eventually(`${n.name} programs both cluster IPs`, () => iptablesSave(n.netns).includes(`-d ${v4}/32`) && ip6tablesSave(n.netns).includes(`-d ${v6}/128`));
        expect(iptablesSave(n.netns)).not.toContain(v6!);
        // Every IPv6 endpoint's DNAT in ip6tables: the pods' own IPv6 addresses.
        for (const [, ip6] of hello()) expect(ip6tablesSave(n.netns)).toContain(`--to-destination [${ip6}]:8080`);
      }
    });

    it("serves the IPv6 cluster IP by address and by its AAAA name from pods on both nodes, and from a node", () => {
      const [, v6] = svc("dual-demo").spec.clusterIPs;
      for (const pod of dual().nodes.map((n) => n.pods[0]!.name)) {
        expect(k.exec(pod, ...curl(`http://[${v6}]/hostname`))).toMatch(/^hello-kubernetes-/);
        expect(k.exec(pod, "curl", "-6", "-s", "-m", "2", "http://dual-demo/hostname")).toMatch(/^hello-kubernetes-/);
        expect(k.exec(pod, "curl", "-4", "-s", "-m", "2", "http://dual-demo/hostname")).toMatch(/^hello-kubernetes-/);
      }
      expect(k.exec("node1", ...curl(`http://[${v6}]/hostname`))).toMatch(/^hello-kubernetes-/);
    });

    it("answers A and AAAA for the Service, ip6.arpa PTR for its IPv6 address, and A and AAAA per ready pod for the headless one", () => {
      const { clusterIPs } = svc("dual-demo").spec;
      const dig = (...args: string[]): string[] => k.exec("node1-pod1", "dig", "+short", ...args).split("\n").filter(Boolean).sort();
      expect(dig("dual-demo.default.svc.cluster.local", "A")).toEqual([clusterIPs[0]]);
      expect(dig("dual-demo.default.svc.cluster.local", "AAAA")).toEqual([clusterIPs[1]]);
      expect(dig("-x", clusterIPs[1]!)).toEqual(["dual-demo.default.svc.cluster.local."]);
      const pods = hello();
      expect(dig("dual-headless.default.svc.cluster.local", "A")).toEqual(pods.map((p) => p[0]!).sort());
      expect(dig("dual-headless.default.svc.cluster.local", "AAAA")).toEqual(pods.map((p) => p[1]!).sort());
    });

    it("keeps a SingleStack IPv6 Service to ip6tables and AAAA alone", async () => {
      expect(k.must("apply", "-f", `${FIXTURES}/ipv6-only.yaml`)).toContain("service/v6-demo created");
      const s = svc("v6-demo").spec;
      expect(s.clusterIPs).toEqual([expect.stringMatching(/^fd00:10:96::/)]);
      expect(s.clusterIP).toBe(s.clusterIPs[0]);
      const n1 = dual().nodes[0]!;
      await eventually("node1 programs the IPv6-only Service", () => ip6tablesSave(n1.netns).includes(`-d ${s.clusterIP}/128`));
      expect(iptablesSave(n1.netns)).not.toContain("default/v6-demo");
      expect(k.exec("node1-pod2", "dig", "+short", "v6-demo.default.svc.cluster.local", "A")).toBe("");
      expect(k.exec("node1-pod2", "dig", "+short", "v6-demo.default.svc.cluster.local", "AAAA")).toBe(s.clusterIP);
      expect(k.exec("node1-pod2", "curl", "-s", "-m", "2", "http://v6-demo/hostname")).toMatch(/^hello-kubernetes-/);
    });
  });
});
