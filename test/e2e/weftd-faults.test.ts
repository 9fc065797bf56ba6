// weftd against faults from outside, in a namespace of its own beside its etcd: started while etcd is
// down (it waits with backoff and a log line per try, then comes up by itself), and garbage that
// other writers leave in etcd (logged once, counted, skipped; the valid leases still programmed).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EtcdServer } from "../helpers/etcd.js";
import { ipJson, run } from "../helpers/netns.js";
import { useNodeNamespace, WEFTD } from "../helpers/node-namespace.js";

const PREFIX = "/weft/network";
const IP = "10.98.0.1";

describe("weftd under outside faults", () => {
  const node = useNodeNamespace("wf", IP);
  let dir = "";
  let netns = "";
  let etcd: EtcdServer;
  let weftd: ChildProcess | undefined;
  let log = "";

  const etcdctl = (...args: string[]): string => run("ip", ["netns", "exec", netns, "etcdctl", `--endpoints=${etcd.endpoint}`, ...args]);
  const lines = (msg: string): Record<string, unknown>[] => log.split("\n").filter((l) => l.includes(`"msg":"${msg}`)).map((l) => JSON.parse(l) as Record<string, unknown>);
  const http = (path: string): { status: number; body: string } => {
    const r = spawnSync("ip", ["netns", "exec", netns, "curl", "-s", "-w", "\n%{http_code}", `http://127.0.0.1:19903${path}`], { encoding: "utf8" });
    const out = r.stdout.trimEnd().split("\n");
    return { status: Number(out.pop()), body: out.join("\n") };
  };
  async function until(what: string, ms: number, check: () => boolean): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}\n${log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(() => {
    ({ dir, netns, etcd } = node());
    writeFileSync(join(dir, "net-conf.json"), JSON.stringify({ Network: "10.244.0.0/16", SubnetLen: 24, SubnetMax: "10.244.199.0", Backend: { Type: "vxlan", VNI: 1 } }));
  });

  afterAll(() => {
    if (weftd?.exitCode === null) weftd.kill("SIGKILL");
  });

  it("started while etcd is down, waits with backoff and a log line per try, and comes up by itself when etcd returns", async () => {
    await etcd.kill();
    const args = ["--etcd-endpoints", etcd.endpoint, "--etcd-prefix", PREFIX, "--iface", "eth0", "--subnet-file", join(dir, "subnet.env"), "--data-dir", join(dir, "cni"), "--healthz-addr", "127.0.0.1:19903", "--resync-interval", "1", "--net-conf", join(dir, "net-conf.json")];
    weftd = spawn("ip", ["netns", "exec", netns, WEFTD, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH } });
    weftd.stdout!.on("data", (d: Buffer) => (log += d.toString()));
    weftd.stderr!.on("data", (d: Buffer) => (log += d.toString()));
    await until("three retries logged", 20_000, () => log.split("\n").filter((l) => l.includes("failed; retrying")).length >= 3);
    const retries = log.split("\n").filter((l) => l.includes("failed; retrying")).map((l) => JSON.parse(l) as { attempt: number; retryInMs: number });
    expect(retries.map((r) => r.attempt).slice(0, 3)).toEqual([1, 2, 3]);
    expect(retries[1]!.retryInMs).toBeGreaterThan(retries[0]!.retryInMs); // backoff
    expect(existsSync(join(dir, "subnet.env"))).toBe(false);
    expect(weftd.exitCode).toBeNull();
    await etcd.restart();
    await until("subnet.env written after etcd returned", 20_000, () => existsSync(join(dir, "subnet.env")));
    expect(etcdctl("get", `${PREFIX}/subnets/`, "--prefix", "--keys-only").trim().split("\n").filter(Boolean)).toHaveLength(1);
    await until("ready", 10_000, () => http("/readyz").status === 200);
  }, 60_000);

  it("skips garbage that other writers put in etcd — logged once, counted — and still programs the valid leases", async () => {
    const valid = JSON.stringify({ PublicIP: "10.98.0.7", BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: "02:01:0a:62:00:07" } });
    etcdctl("put", `${PREFIX}/subnets/10.244.200.0-24`, "{not json");
    etcdctl("put", `${PREFIX}/subnets/10.99.1.0-24`, valid.replace("10.98.0.7", "10.98.0.8").replace(":07", ":08")); // outside the network
    // Oversized (200 KB, through stdin: too long for an argument).
    run("ip", ["netns", "exec", netns, "etcdctl", `--endpoints=${etcd.endpoint}`, "put", `${PREFIX}/subnets/10.244.203.0-24`], JSON.stringify({ PublicIP: "10.98.0.10", BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: "02:01:0a:62:00:0a" }, Extra: "x".repeat(200_000) }));
    // Unknown fields: read for what weft knows, as flannel does.
    etcdctl("put", `${PREFIX}/subnets/10.244.201.0-24`, JSON.stringify({ PublicIP: "10.98.0.9", BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: "02:01:0a:62:00:09" }, Annotations: { who: "another tool" } }));
    etcdctl("put", `${PREFIX}/subnets/10.244.202.0-24`, valid);
    // A /23 over the valid /24 (and its neighbour): inside the network, but it would overlap them.
    etcdctl("put", `${PREFIX}/subnets/10.244.202.0-23`, valid.replace("10.98.0.7", "10.98.0.11").replace(":07", ":0b"));
    await until("the valid lease programmed", 10_000, () => ipJson<{ dst: string }[]>(netns, ["route", "show", "dev", "weft.1"]).some((r) => r.dst === "10.244.202.0/24"));
    await new Promise((r) => setTimeout(r, 2_500)); // two resyncs: nothing logged again
    expect(lines("skipping a malformed lease").map((l) => l.err)).toEqual(expect.arrayContaining(["lease 10.244.200.0-24: value is not JSON", expect.stringMatching(/^lease 10\.244\.203\.0-24: value of \d+ bytes is too large/)]));
    expect(lines("skipping a malformed lease")).toHaveLength(2);
    expect(lines("skipping a lease outside the network")).toHaveLength(1);
    expect(lines("skipping a lease that is not one of the network's /24 subnets (it would overlap others)").map((l) => l.lease)).toEqual(["10.244.202.0/23"]);
    const metrics = http("/metrics").body;
    expect(Number(/^weft_bad_leases_total (\d+)/m.exec(metrics)?.[1])).toBe(4); // each bad lease once, resyncs or not
    expect(http("/healthz").status).toBe(200);
    expect(weftd?.exitCode).toBeNull();
    const routes = ipJson<{ dst: string }[]>(netns, ["route", "show", "dev", "weft.1"]).map((r) => r.dst);
    expect(routes).toEqual(expect.arrayContaining(["10.244.201.0/24", "10.244.202.0/24"]));
    expect(routes).not.toContain("10.244.203.0/24");
    expect(routes).not.toContain("10.244.200.0/24");
    expect(routes).not.toContain("10.244.202.0/23");
  }, 30_000);

  it("programs the IPv4 part of a dual-stack lease as flannel writes it, and refuses to start on an IPv6-only network when the node has no IPv6 underlay address", async () => {
    const key = `${PREFIX}/subnets/10.244.220.0-24&fd00:10:244:dc::-64`;
    etcdctl("put", key, JSON.stringify({ PublicIP: "10.98.0.20", PublicIPv6: "fd00:98::20", BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: "02:01:0a:62:00:14" }, BackendV6Data: { VNI: 1, VtepMAC: "02:02:0a:62:00:14" } }));
    await until("the dual-stack node's IPv4 subnet programmed", 10_000, () => ipJson<{ dst: string }[]>(netns, ["route", "show", "dev", "weft.1"]).some((r) => r.dst === "10.244.220.0/24"));
    expect(lines("skipping a malformed lease").some((l) => String(l.err).includes("10.244.220.0"))).toBe(false);
    etcdctl("del", key);

    writeFileSync(join(dir, "dual.json"), JSON.stringify({ EnableIPv4: false, EnableIPv6: true, IPv6Network: "fd00:10:245::/56", IPv6SubnetMax: "fd00:10:245:c7::" }));
    const args = ["--etcd-endpoints", etcd.endpoint, "--etcd-prefix", "/dual/network", "--iface", "eth0", "--subnet-file", join(dir, "dual-subnet.env"), "--cni-conf-dir", join(dir, "net.d"), "--healthz-addr", "127.0.0.1:19904", "--net-conf", join(dir, "dual.json")];
    const r = spawnSync("ip", ["netns", "exec", netns, WEFTD, ...args], { encoding: "utf8", env: { PATH: process.env.PATH }, timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/"level":"fatal".*the network has IPv6 \(fd00:10:245::\/56\) but interface eth0 has no global IPv6 address: give it one, or pass --public-ipv6/);
    expect(existsSync(join(dir, "dual-subnet.env"))).toBe(false);
    expect(etcdctl("get", "/dual/network/subnets/", "--prefix", "--keys-only").trim()).toBe("");
  }, 30_000);

  it("drops a node whose daemon died for good once its lease expires: route, ARP and FDB entries gone", async () => {
    // The other node's weftd wrote its lease with a 3 s TTL and then died: nobody renews it.
    const leaseId = /lease ([0-9a-f]+) granted/.exec(etcdctl("lease", "grant", "3"))?.[1];
    expect(leaseId).toBeDefined();
    const mac = "02:01:0a:62:00:0c";
    etcdctl("put", `--lease=${leaseId!}`, `${PREFIX}/subnets/10.244.210.0-24`, JSON.stringify({ PublicIP: "10.98.0.12", BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: mac } }));
    const entries = () => ({
      route: ipJson<{ dst: string }[]>(netns, ["route", "show", "dev", "weft.1"]).some((r) => r.dst === "10.244.210.0/24"),
      arp: ipJson<{ dst: string; lladdr?: string }[]>(netns, ["neigh", "show", "dev", "weft.1"]).some((n) => n.lladdr === mac),
      fdb: (JSON.parse(run("ip", ["netns", "exec", netns, "bridge", "-j", "fdb", "show", "dev", "weft.1"])) as { mac: string }[]).some((f) => f.mac === mac),
    });
    await until("the node programmed", 5_000, () => Object.values(entries()).every(Boolean));
    const programmedAt = Date.now();
    await until("the node dropped after its lease expired", 15_000, () => Object.values(entries()).every((present) => !present));
    expect(Date.now() - programmedAt).toBeGreaterThan(1_000); // gone by expiry, not at once
    expect(etcdctl("get", `${PREFIX}/subnets/10.244.210.0-24`, "--keys-only").trim()).toBe("");
  }, 30_000);
});
