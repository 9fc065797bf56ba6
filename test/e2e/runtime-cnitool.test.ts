// weft under the reference runtime library's own client: `cnitool` built from libcni v1.2 or later
// (the GCNetworkList that containerd 2 and CRI-O build on), named by WEFT_CNITOOL. Debian 12 ships
// libcni 1.1.2, which has no GC, so this file runs where such a cnitool is at hand and is skipped
// elsewhere. What libcni sends is also replayed byte for byte by cni.test.ts, which always runs.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuiltPlugin, runPlugin, WEFT_BIN } from "../helpers/cni.js";
import { ipJson, NetnsPool, netnsPath } from "../helpers/netns.js";

const CNITOOL = process.env.WEFT_CNITOOL ?? "";
const hasGc = CNITOOL !== "" && existsSync(CNITOOL) && spawnSync(CNITOOL, [], { encoding: "utf8" }).stderr.includes("cnitool gc");
const NETWORK = "weft-cnitool";
const pool = new NetnsPool("ct");
let dir: string;
let node: string;
const pods: string[] = [];
/** libcni's cache dir, removed afterwards if this test made it. */
const LIBCNI_CACHE = "/var/lib/cni";
let madeCache = false;

function cnitool(verb: string, pod: string): { code: number; out: string } {
  const r = spawnSync("nsenter", [`--net=/var/run/netns/${node}`, CNITOOL, verb, NETWORK, netnsPath(pod)], {
    encoding: "utf8",
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", NETCONFPATH: join(dir, "net.d"), CNI_PATH: dirname(WEFT_BIN) },
    timeout: 30_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

const heldIps = (): string[] => (existsSync(join(dir, "data", NETWORK)) ? readdirSync(join(dir, "data", NETWORK)).filter((f) => /^\d/.test(f)) : []);
const hostVeths = (): string[] => ipJson<{ ifname: string }[]>(node, ["link", "show", "type", "veth"]).map((l) => l.ifname);

describe.skipIf(!hasGc)("cnitool (libcni v1.2+): add, check, gc", () => {
  beforeAll(() => {
    requireBuiltPlugin();
    dir = mkdtempSync(join(tmpdir(), "weft-cnitool-"));
    madeCache = !existsSync(LIBCNI_CACHE);
    node = pool.create();
    mkdirSync(join(dir, "net.d"));
    writeFileSync(join(dir, "subnet.env"), "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.8.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\nWEFT_ANTI_SPOOFING=false\n");
    // 1.1.0: libcni sends GC only to a network of that version or later.
    const plugin = { type: "weft", subnetFile: join(dir, "subnet.env"), dataDir: join(dir, "data"), logFile: join(dir, "weft.log") };
    writeFileSync(join(dir, "net.d", "10-weft.conflist"), JSON.stringify({ cniVersion: "1.1.0", name: NETWORK, plugins: [plugin] }));
  });

  afterAll(() => {
    // libcni caches each attachment under /var/lib/cni; a DEL through it removes the cache entry.
    for (const p of pods) cnitool("del", p);
    if (madeCache) rmSync(LIBCNI_CACHE, { recursive: true, force: true });
    pool.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("attaches pods through libcni, and its GC (no valid-attachments sent) collects them and one it never knew", () => {
    for (let i = 0; i < 2; i++) {
      const pod = pool.create();
      pods.push(pod);
      const r = cnitool("add", pod);
      expect(r.out).toContain('"ips"');
      expect(r.code).toBe(0);
      expect(cnitool("check", pod).code).toBe(0);
    }
    // An attachment libcni has no cache entry for: what a runtime that crashed mid-ADD leaves behind.
    const leaked = pool.create();
    const conf = { cniVersion: "1.1.0", name: NETWORK, type: "weft", subnetFile: join(dir, "subnet.env"), dataDir: join(dir, "data"), logFile: join(dir, "weft.log") };
    expect(runPlugin({ nodeNetns: node, command: "ADD", config: conf, env: { CNI_CONTAINERID: "leaked-0", CNI_NETNS: netnsPath(leaked), CNI_IFNAME: "eth0" } }).code).toBe(0);
    expect(heldIps()).toHaveLength(3);
    expect(hostVeths()).toHaveLength(3);

    const gc = cnitool("gc", pods[0]!);
    expect(gc.out).toBe("");
    expect(gc.code).toBe(0);
    expect(heldIps()).toEqual([]);
    expect(hostVeths()).toEqual([]);
    expect(ipJson<{ ifname: string }[]>(leaked, ["link"]).map((l) => l.ifname)).toEqual(["lo"]);
    const gcLine = readFileSync(join(dir, "weft.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { msg: string; verb?: string; released?: { containerId: string }[] }).find((l) => l.msg === "gc");
    expect(gcLine?.released?.map((r) => r.containerId)).toEqual(["leaked-0"]);
  });
});
