// weftd and the plugin configured apart, as operators do. The lab's conflist names a network and a
// records dir that both differ from weftd's defaults, and weftd is told neither: it reads the
// conflist. Then weftd is pointed at the wrong places on purpose (the failure that used to cut every
// pod off its gateway two resyncs after start): running pods keep every packet, /readyz and the log
// say what differs and how to fix it, and a forged frame is still dropped.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readPodFilter, type PodFilterState } from "../../daemon/pod-filter.js";
import { podFilterEntry } from "../../ipam/attachment.js";
import { eventually, ping, readyz, useLab, type LabStatus } from "../helpers/lab.js";
import { run, watchEchoRequests } from "../helpers/netns.js";

const { lab, stateDir, status } = useLab("c", ["--nodes", "2", "--pods-per-node", "2", "--no-services"]);
const wrongDir = mkdtempSync(join(tmpdir(), "weft-wrong-records-"));
afterAll(() => rmSync(wrongDir, { recursive: true, force: true }));

type Node = LabStatus["nodes"][number];
const filterOf = async (n: Node): Promise<PodFilterState | undefined> => readPodFilter((cmd, args, input) => run("ip", ["netns", "exec", n.netns, cmd, ...args], input));
const portsOf = (n: Node): string[] => n.pods.map((p) => podFilterEntry({ containerId: `lab-${p.name}`, ifname: "eth0", ip: p.ip }).hostVeth).sort();
/** The ports the node's table lets through unfiltered (nft's own listing, read synchronously). */
const unverifiedPorts = (n: Node): string[] => {
  const out = JSON.parse(run("ip", ["netns", "exec", n.netns, "nft", "-j", "list", "set", "bridge", "weft", "unverified-ports"])) as { nftables: { set?: { elem?: string[] } }[] };
  return (out.nftables.find((i) => i.set)?.set?.elem ?? []).slice().sort();
};
const weftdLog = (n: Node): string => readFileSync(join(stateDir, n.name, "weftd.log"), "utf8");

/** Pings that run in the background while the test does other things: resolves to what came back. */
function pingFor(fromNs: string, to: string, count: number, interval: string): Promise<{ sent: number; received: number }> {
  const p = spawn("ip", ["netns", "exec", fromNs, "ping", "-q", "-c", String(count), "-i", interval, "-W", "1", to], { stdio: ["ignore", "pipe", "ignore"] });
  let out = "";
  p.stdout.on("data", (d) => (out += d));
  return new Promise((resolve) =>
    p.on("exit", () => {
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      resolve({ sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0) });
    }),
  );
}

/** Pod a sends echo requests from pod b's address to pod d: how many reached d. */
function forgedRequestsThatArrive(a: Node["pods"][number], b: Node["pods"][number], d: Node["pods"][number]): number {
  const watch = watchEchoRequests(d.netns, b.ip);
  spawnSync("ip", ["-n", a.netns, "addr", "add", `${b.ip}/32`, "dev", "eth0"]);
  try {
    spawnSync("ip", ["netns", "exec", a.netns, "ping", "-q", "-c", "3", "-i", "0.2", "-W", "1", "-I", b.ip, d.ip]);
    return watch.count();
  } finally {
    spawnSync("ip", ["-n", a.netns, "addr", "del", `${b.ip}/32`, "dev", "eth0"]);
    watch.remove();
  }
}

describe("weftd and a conflist that disagree with weftd's defaults", () => {
  it("reads the records where the conflist says: for two minutes pods reach pods across nodes, every entry stays, a forged frame is dropped", async () => {
    const [n1, n2] = status().nodes as [Node, Node];
    const conflist = JSON.parse(readFileSync(join(stateDir, n1.name, "net.d", "10-weft.conflist"), "utf8")) as { name: string; plugins: { dataDir?: string }[] };
    expect(conflist.name).not.toBe("weft");
    expect(conflist.plugins[0]?.dataDir).not.toBe("/var/lib/cni/weft");
    // 60 resyncs of 2 s each, in both directions, at 5 pings a second.
    const there = pingFor(n1.pods[0]!.netns, n2.pods[0]!.ip, 600, "0.2");
    const back = pingFor(n2.pods[1]!.netns, n1.pods[1]!.ip, 600, "0.2");
    expect(await there).toEqual({ sent: 600, received: 600 });
    expect(await back).toEqual({ sent: 600, received: 600 });
    for (const n of [n1, n2]) {
      const filter = await filterOf(n);
      expect(filter?.entries.map((e) => e.hostVeth).sort()).toEqual(portsOf(n));
      expect(filter?.unverified).toEqual([]);
      expect(readyz(n.netns)).toEqual({ status: 200, body: "ready\n" });
      expect(weftdLog(n)).toMatch(/"from":\["[^"]*\/10-weft\.conflist"\].*"msg":"reading the plugin's pod IP records where its config says"/);
      expect(weftdLog(n)).not.toMatch(/"removed":[1-9]|no IP record/);
    }
    expect(forgedRequestsThatArrive(n1.pods[0]!, n1.pods[1]!, n2.pods[0]!)).toBe(0);
  }, 180_000);

  it("pointed at the wrong records, weftd keeps every running pod's entry, says what differs, and a new table lets unrecorded pods through", async () => {
    const [n1, n2] = status().nodes as [Node, Node];
    const wrong = `--cni-conf-dir ${join(wrongDir, "net.d")} --data-dir ${wrongDir} --cni-network flannel`;
    expect(lab("restart-weftd", "node1", `--weftd-args=${wrong}`).code).toBe(0);
    try {
      const pings = pingFor(n1.pods[0]!.netns, n2.pods[0]!.ip, 100, "0.2");
      await eventually("readyz names the pods without a record", () => readyz(n1.netns).body.includes("have no IP record"), 15_000);
      const r = readyz(n1.netns);
      expect(r.status).toBe(503);
      for (const port of portsOf(n1)) expect(r.body).toContain(`${port} (`);
      expect(r.body).toContain("entry kept");
      expect(r.body).toContain("--cni-conf-dir");
      expect(r.body).toContain(`${wrongDir}/flannel`);
      expect(weftdLog(n1)).toMatch(/"level":"error".*running pod port\(s\) have no IP record/);
      expect((await filterOf(n1))?.entries.map((e) => e.hostVeth).sort()).toEqual(portsOf(n1));
      expect(forgedRequestsThatArrive(n1.pods[0]!, n1.pods[1]!, n2.pods[0]!)).toBe(0);

      // The table deleted by hand: weftd writes it anew with no entry for these ports, and lets them
      // through rather than cut them off.
      expect(spawnSync("ip", ["netns", "exec", n1.netns, "nft", "delete", "table", "bridge", "weft"]).status).toBe(0);
      await eventually("the new table lets the unrecorded ports through", () => unverifiedPorts(n1).join() === portsOf(n1).join(), 15_000);
      expect(ping(n1.pods[0]!.netns, n2.pods[0]!.ip).received).toBe(3);
      await eventually("readyz says the ports are not filtered", () => readyz(n1.netns).body.includes("no entry: not filtered"), 10_000);
      expect(await pings).toEqual({ sent: 100, received: 100 });
    } finally {
      expect(lab("restart-weftd", "node1").code).toBe(0);
    }
    // Told the right place again: the entries come back, the ports are filtered again, readyz is 200.
    await eventually("node1 filters every pod again", () => unverifiedPorts(n1).length === 0, 20_000);
    await eventually("node1 ready", () => readyz(n1.netns).status === 200, 10_000);
    expect((await filterOf(n1))?.entries.map((e) => e.hostVeth).sort()).toEqual(portsOf(n1));
    expect(forgedRequestsThatArrive(n1.pods[0]!, n1.pods[1]!, n2.pods[0]!)).toBe(0);
    expect(ping(n1.pods[0]!.netns, n2.pods[0]!.ip).received).toBe(3);
  }, 120_000);
});
