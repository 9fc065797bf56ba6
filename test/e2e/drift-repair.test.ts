// Drift repaired from the kernel's own change notifications, not from a timer: weftd runs with a full
// reconcile only every 10 minutes and a resync every minute, and still puts back within a second what
// someone else removes or alters (a route, an ARP entry, an FDB entry), removes a weft route no lease
// wants, and reconciles everything once when its device is set down — counted in its metrics.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ipJson, run } from "../helpers/netns.js";
import { useNodeNamespace } from "../helpers/node-namespace.js";

const PREFIX = "/weft/network";
const IP = "10.96.50.1";
const REMOTES = [
  { subnet: "10.244.101.0/24", ip: "10.96.50.101", mac: "02:01:0a:60:32:65" },
  { subnet: "10.244.102.0/24", ip: "10.96.50.102", mac: "02:01:0a:60:32:66" },
];

describe("drift repair from the kernel's notifications", () => {
  const node = useNodeNamespace("dr", IP);
  let netns = "";
  let log = (): string => "";

  const metric = (name: string): number => {
    const r = spawnSync("ip", ["netns", "exec", netns, "curl", "-s", "http://127.0.0.1:19906/metrics"], { encoding: "utf8" });
    return Number(r.stdout.split("\n").find((l) => l.startsWith(`${name} `))?.split(" ")[1] ?? NaN);
  };
  const entries = () => ({
    routes: ipJson<{ dst: string; gateway?: string }[]>(netns, ["route", "show", "dev", "weft.1"]).filter((r) => r.gateway).map((r) => `${r.dst} via ${r.gateway}`).sort(),
    arp: ipJson<{ dst: string; lladdr?: string }[]>(netns, ["neigh", "show", "dev", "weft.1"]).map((n) => `${n.dst} ${n.lladdr}`).sort(),
    fdb: (JSON.parse(run("ip", ["netns", "exec", netns, "bridge", "-j", "fdb", "show", "dev", "weft.1"])) as { mac: string; dst?: string }[]).filter((f) => f.dst).map((f) => `${f.mac} ${f.dst}`).sort(),
  });
  const wanted = {
    routes: REMOTES.map((r) => `${r.subnet} via ${r.subnet.split("/")[0]}`).sort(),
    arp: REMOTES.map((r) => `${r.subnet.split("/")[0]} ${r.mac}`).sort(),
    fdb: REMOTES.map((r) => `${r.mac} ${r.ip}`).sort(),
  };
  async function within(ms: number, what: string, check: () => boolean): Promise<number> {
    const t0 = Date.now();
    const holds = (): boolean => {
      try {
        return check();
      } catch {
        return false; // the device is not there (yet, or again)
      }
    };
    while (!holds()) {
      if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}\n${log().slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return Date.now() - t0;
  }
  const same = (): boolean => JSON.stringify(entries()) === JSON.stringify(wanted);

  beforeAll(async () => {
    const n = node();
    netns = n.netns;
    for (const r of REMOTES) n.etcdctl("put", `${PREFIX}/subnets/${r.subnet.replace("/", "-")}`, JSON.stringify({ PublicIP: r.ip, BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: r.mac } }));
    writeFileSync(join(n.dir, "net-conf.json"), JSON.stringify({ Network: "10.244.0.0/16", Backend: { Type: "vxlan" } }));
    const args = ["--etcd-endpoints", n.etcd.endpoint, "--iface", "eth0", "--subnet-file", join(n.dir, "subnet.env"), "--cni-conf-dir", join(n.dir, "net.d"), "--healthz-addr", "127.0.0.1:19906", "--resync-interval", "60", "--full-resync-interval", "600", "--net-conf", join(n.dir, "net-conf.json")];
    log = n.startWeftd(args).log;
    await within(20_000, "both remote nodes programmed", same);
  }, 40_000);

  it("puts back a deleted route, a changed ARP entry and a deleted FDB entry within a second, without a full reconcile", async () => {
    const fullPasses = metric("weft_reconcile_duration_seconds_count");
    const [a, b] = REMOTES as [(typeof REMOTES)[0], (typeof REMOTES)[0]];
    expect(spawnSync("ip", ["-n", netns, "route", "del", a.subnet]).status).toBe(0);
    const routeMs = await within(1_000, "route restored", same);
    expect(spawnSync("ip", ["-n", netns, "neigh", "replace", b.subnet.split("/")[0]!, "lladdr", "02:de:ad:00:00:01", "dev", "weft.1", "nud", "permanent"]).status).toBe(0);
    const arpMs = await within(1_000, "ARP entry restored", same);
    expect(spawnSync("bridge", ["-n", netns, "fdb", "del", a.mac, "dev", "weft.1", "dst", a.ip]).status).toBe(0);
    const fdbMs = await within(1_000, "FDB entry restored", same);
    process.stdout.write(`drift repaired from notifications: route ${routeMs} ms, ARP ${arpMs} ms, FDB ${fdbMs} ms\n`);
    expect(metric("weft_reconcile_duration_seconds_count")).toBe(fullPasses);
    expect(log()).toContain("repaired entries someone else removed or changed");
  });

  it("removes a weft route that no lease wants", async () => {
    expect(spawnSync("ip", ["-n", netns, "route", "add", "10.244.150.0/24", "via", "10.244.150.0", "dev", "weft.1", "onlink", "proto", "117"]).status).toBe(0);
    await within(1_000, "the stray route removed", () => ipJson<unknown[]>(netns, ["route", "show", "10.244.150.0/24"]).length === 0);
    expect(same()).toBe(true);
  });

  it("reconciles everything once when the device is set down, and is whole again", async () => {
    const fullPasses = metric("weft_reconcile_duration_seconds_count");
    expect(spawnSync("ip", ["-n", netns, "link", "set", "weft.1", "down"]).status).toBe(0);
    await within(2_000, "device up with every entry", () => ipJson<{ flags: string[] }[]>(netns, ["link", "show", "weft.1"])[0]!.flags.includes("UP") && same());
    await within(1_000, "a full pass counted", () => metric("weft_reconcile_duration_seconds_count") > fullPasses);
  });
});
