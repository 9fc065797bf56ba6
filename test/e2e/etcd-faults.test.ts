// etcd faults on a lab with a 3-member etcd cluster: the leader killed, the quorum lost, every member
// stopped, a node cut off from etcd by a firewall rule, and etcd restarted from empty data dirs. In each,
// pod traffic across nodes keeps flowing (a ping stream runs throughout; lost packets are counted),
// /readyz says what is wrong while it is wrong, and weftd recovers with no manual step. The outage
// length is WEFT_ETCD_OUTAGE_S (10 s by default; docs/reliability.md records a 60 s run).
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { ipJson } from "../helpers/netns.js";

const OUTAGE_MS = Number(process.env.WEFT_ETCD_OUTAGE_S ?? 10) * 1000;
const CONFIG = '{"Network":"10.244.0.0/16","SubnetLen":24,"SubnetMax":"10.244.199.0","Backend":{"Type":"vxlan","VNI":1,"Port":8472,"DirectRouting":false}}';

interface Status {
  etcd: { endpoints: string[]; netns: string; members: { name: string; netns: string; ip: string; running: boolean }[] };
  nodes: { name: string; netns: string; subnet: string; pods: { netns: string; ip: string }[] }[];
}

describe("etcd faults on a 3-member cluster", () => {
  const { lab, stateDir } = useLab("etf", ["--nodes", "2", "--pods-per-node", "1", "--etcd-members", "3", "--no-services"]);
  const status = (): Status => JSON.parse(lab("status", "--json").out) as Status;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const etcdctl = (...args: string[]) => spawnSync("ip", ["netns", "exec", status().etcd.netns, "etcdctl", `--endpoints=${status().etcd.endpoints.join(",")}`, "--dial-timeout=1s", "--command-timeout=3s", ...args], { encoding: "utf8" });
  const leases = (): { subnet: string; publicIp: string }[] => {
    const r = spawnSync("nsenter", [`--net=/var/run/netns/${status().etcd.netns}`, join(import.meta.dirname, "../../dist/bin/ipamctl"), "leases", "-o", "json", "--timeout", "2", "--etcd-endpoints", status().etcd.endpoints.join(",")], { encoding: "utf8" });
    return r.status === 0 ? (JSON.parse(r.stdout) as { subnet: string; publicIp: string }[]).map(({ subnet, publicIp }) => ({ subnet, publicIp })) : [];
  };
  const readyz = (nodeNs: string): number => Number(spawnSync("nsenter", [`--net=/var/run/netns/${nodeNs}`, "curl", "-s", "-o", "/dev/null", "-m", "2", "-w", "%{http_code}", "http://127.0.0.1:9901/readyz"], { encoding: "utf8" }).stdout);
  async function eventually(what: string, check: () => boolean, ms = 15_000): Promise<number> {
    const t = Date.now();
    while (!check()) {
      if (Date.now() - t > ms) throw new Error(`not within ${ms} ms: ${what}`);
      await sleep(200);
    }
    return Date.now() - t;
  }
  /** Pings pod → pod across nodes every 100 ms while `during` runs; returns [sent, received]. */
  async function pingThrough(during: () => Promise<void>): Promise<[number, number]> {
    const s = status();
    const p = spawn("ip", ["netns", "exec", s.nodes[0]!.pods[0]!.netns, "ping", "-i", "0.1", "-W", "1", s.nodes[1]!.pods[0]!.ip], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    const exited = new Promise<void>((r) => p.on("exit", () => r()));
    try {
      await sleep(300);
      await during();
      await sleep(500);
    } finally {
      p.kill("SIGINT");
      await exited;
    }
    const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
    return [Number(m?.[1] ?? 0), Number(m?.[2] ?? -1)];
  }
  const leader = (): string => {
    const r = etcdctl("endpoint", "status", "-w", "json");
    const all = JSON.parse(r.stdout) as { Endpoint: string; Status: { header: { member_id: number }; leader: number } }[];
    const lead = all.find((e) => e.Status.header.member_id === e.Status.leader);
    return status().etcd.members.find((m) => lead?.Endpoint.includes(m.ip))?.name ?? "";
  };

  it("keeps traffic and readiness when the leader is killed, and a node joins meanwhile", async () => {
    const before = leases();
    expect(before).toHaveLength(2);
    const old = leader();
    expect(old).toMatch(/^etcd\d$/);
    const [sent, received] = await pingThrough(async () => {
      expect(lab("etcd", "stop", old, "--signal", "SIGKILL").code).toBe(0);
      await eventually("a new leader", () => !["", old].includes(leader()));
      // Two of three members keep the quorum: a new node gets its lease and every node a route to it.
      expect(lab("add-node", "--pods", "0").code).toBe(0);
      const node3 = status().nodes[2]!;
      const net = node3.subnet.replace(/\.1\/24$/, ".0/24");
      await eventually("node1 routes to node3", () => ipJson<unknown[]>(status().nodes[0]!.netns, ["route", "show", net]).length === 1);
      // The nodes that were there stay ready throughout; the one that just joined becomes ready (its own
      // first reconcile can come after node1 already routes to it: node1 acts on node3's lease event).
      for (const n of status().nodes.slice(0, 2)) expect(readyz(n.netns), n.name).toBe(200);
      await eventually("node3 ready", () => readyz(node3.netns) === 200, 10_000);
      expect(lab("etcd", "start", old).code).toBe(0);
    });
    expect(received).toBe(sent);
    expect(leases()).toHaveLength(3);
  }, 60_000);

  /** Stops members for OUTAGE_MS while pods talk: /readyz 503 everywhere meanwhile, 200 after, nothing lost or changed. */
  async function outage(stopArgs: () => string[]): Promise<void> {
    const before = leases();
    const [sent, received] = await pingThrough(async () => {
      lab("etcd", "stop", ...stopArgs());
      await eventually("readyz 503 on every node", () => status().nodes.every((n) => readyz(n.netns) === 503), 20_000);
      await sleep(OUTAGE_MS);
      lab("etcd", "start");
      await eventually("readyz 200 on every node", () => status().nodes.every((n) => readyz(n.netns) === 200), 30_000);
      await expectWatchesResumed();
    });
    expect(received).toBe(sent);
    expect(leases()).toEqual(before);
  }

  /**
   * Ready means the lease watch runs again, not only that etcd answers: a lease put now reaches every
   * node within a few seconds, and its removal too (a watch still waiting out a reconnect backoff would not).
   */
  async function expectWatchesResumed(): Promise<void> {
    const net = "10.244.250.0/24";
    const value = JSON.stringify({ PublicIP: "192.168.56.250", BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: "02:01:c0:a8:38:fa" } });
    const routed = () => status().nodes.map((n) => ipJson<unknown[]>(n.netns, ["route", "show", net]).length);
    expect(etcdctl("put", "/weft/network/subnets/10.244.250.0-24", value).status).toBe(0);
    await eventually("every node routes to a lease put after the outage", () => routed().every((c) => c === 1), 5_000);
    expect(etcdctl("del", "/weft/network/subnets/10.244.250.0-24").status).toBe(0);
    await eventually("every node drops the route when that lease is deleted", () => routed().every((c) => c === 0), 5_000);
  }

  it(`keeps pods talking through ${OUTAGE_MS / 1000} s without quorum; /readyz says so; recovers by itself`, async () => {
    await outage(() => [...status().etcd.members.slice(0, 2).map((m) => m.name), "--signal", "SIGKILL"]);
  }, 120_000);

  it(`keeps pods talking through ${OUTAGE_MS / 1000} s with every member stopped`, async () => {
    await outage(() => []);
  }, 120_000);

  it("partitions one node from etcd with a firewall rule: it says so, the others go on, it catches up after", async () => {
    const s = status();
    const [n1, n2] = s.nodes;
    // Both directions, as a real partition: a stream already open would otherwise still deliver etcd's events.
    const rules = [["OUTPUT", "-p", "tcp", "--dport", "2379", "-j", "DROP"], ["INPUT", "-p", "tcp", "--sport", "2379", "-j", "DROP"]];
    for (const rule of rules) spawnSync("ip", ["netns", "exec", n1!.netns, "iptables", "-I", ...rule]);
    let node4Net = "";
    try {
      const [sent, received] = await pingThrough(async () => {
        await eventually("readyz 503 on the partitioned node", () => readyz(n1!.netns) === 503, 30_000);
        expect(readyz(n2!.netns)).toBe(200);
        // Meanwhile a node joins: the partitioned node cannot see it yet.
        expect(lab("add-node", "--pods", "0").code).toBe(0);
        node4Net = status().nodes.at(-1)!.subnet.replace(/\.1\/24$/, ".0/24");
        await eventually("node2 routes to the new node", () => ipJson<unknown[]>(n2!.netns, ["route", "show", node4Net]).length === 1);
        expect(ipJson<unknown[]>(n1!.netns, ["route", "show", node4Net])).toHaveLength(0);
      });
      expect(received).toBe(sent);
    } finally {
      for (const rule of rules) spawnSync("ip", ["netns", "exec", n1!.netns, "iptables", "-D", ...rule]);
    }
    await eventually("the healed node routes to the new node", () => ipJson<unknown[]>(n1!.netns, ["route", "show", node4Net]).length === 1, 30_000);
    await eventually("readyz 200 on the healed node", () => readyz(n1!.netns) === 200, 30_000);
  }, 120_000);

  it("re-creates every lease with the same subnet after etcd restarts from empty data dirs and the config is put back", async () => {
    const before = leases();
    expect(before.length).toBeGreaterThanOrEqual(2);
    const [sent, received] = await pingThrough(async () => {
      lab("etcd", "stop");
      for (const m of status().etcd.members) spawnSync("rm", ["-rf", join(stateDir, m.name === "etcd1" ? "etcd" : m.name)]);
      lab("etcd", "start");
      await eventually("the new cluster answers", () => etcdctl("put", "/weft/network/config", CONFIG).status === 0, 20_000);
      await eventually("every lease back", () => leases().length === before.length, 20_000);
    });
    expect(received).toBe(sent);
    expect(leases()).toEqual(before);
  }, 120_000);
});
