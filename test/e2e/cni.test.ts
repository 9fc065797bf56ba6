// The CNI plugin through the CNI protocol, every verb, against kernel state and the IP store.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostVethName } from "../../ipam/attachment.js";
import { requireBuiltPlugin, runPlugin } from "../helpers/cni.js";
import { ipJson, NetnsPool, netnsPath, run } from "../helpers/netns.js";

interface IpLink {
  ifname: string;
  mtu: number;
  address?: string;
  master?: string;
  flags: string[];
  operstate: string;
  linkinfo?: { info_kind?: string; info_slave_data?: { hairpin?: boolean } };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

const pool = new NetnsPool("cn");
let node: string;
let dir: string;
let conf: Record<string, unknown>;

function writeSubnetEnv(subnet = "10.244.1.1/24"): void {
  writeFileSync(join(dir, "subnet.env"), `FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=${subnet}\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);
}

const podEnv = (containerId: string, pod: string, ifname = "eth0") => ({ CNI_CONTAINERID: containerId, CNI_NETNS: netnsPath(pod), CNI_IFNAME: ifname, CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0" });
const add = (containerId: string, pod: string, config = conf) => runPlugin({ nodeNetns: node, command: "ADD", config, env: podEnv(containerId, pod) });
const del = (containerId: string, pod: string, config = conf) => runPlugin({ nodeNetns: node, command: "DEL", config, env: podEnv(containerId, pod) });
const heldIps = () => readdirSync(join(dir, "data", "weft")).filter((f) => /^\d/.test(f));
const hostVeths = () => ipJson<IpLink[]>(node, ["-d", "link", "show", "type", "veth"]).map((l) => l.ifname);

beforeAll(() => {
  requireBuiltPlugin();
  node = pool.create();
  dir = mkdtempSync(join(tmpdir(), "weft-cni-"));
  writeSubnetEnv();
  conf = { cniVersion: "1.1.0", name: "weft", type: "weft", subnetFile: join(dir, "subnet.env"), dataDir: join(dir, "data"), logFile: join(dir, "weft.log"), dns: { nameservers: ["10.96.0.10"] } };
});

afterAll(() => {
  pool.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe("VERSION", () => {
  it("lists the supported versions", () => {
    const r = runPlugin({ command: "VERSION", config: { cniVersion: "1.1.0" } });
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ cniVersion: "1.1.0", supportedVersions: ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] });
  });
});

describe("ADD and DEL", () => {
  it("attaches a pod: bridge with the gateway, veth with hairpin, address, default route, MTU, and a spec result", () => {
    const pod = pool.create();
    const r = add("ctr-a", pod);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({
      cniVersion: "1.1.0",
      ips: [{ address: "10.244.1.2/24", gateway: "10.244.1.1", interface: 2 }],
      routes: [{ dst: "0.0.0.0/0", gw: "10.244.1.1" }],
      dns: { nameservers: ["10.96.0.10"] },
    });
    const ifaces = r.json?.interfaces as { name: string; sandbox?: string }[];
    expect(ifaces.map((i) => i.name)).toEqual(["cni0", expect.stringMatching(/^weft[0-9a-f]{8}$/), "eth0"]);
    expect(ifaces[2]?.sandbox).toBe(netnsPath(pod));

    const [bridge] = ipJson<IpLink[]>(node, ["-d", "addr", "show", "dev", "cni0"]);
    expect(bridge?.linkinfo?.info_kind).toBe("bridge");
    expect(bridge?.addr_info?.filter((a) => a.family === "inet")).toEqual([expect.objectContaining({ local: "10.244.1.1", prefixlen: 24 })]);
    const [veth] = ipJson<IpLink[]>(node, ["-d", "link", "show", "dev", ifaces[1]?.name ?? ""]);
    expect(veth).toMatchObject({ master: "cni0", mtu: 1450 });
    expect(veth?.linkinfo?.info_slave_data?.hairpin).toBe(true);
    expect(veth?.flags).toContain("UP");

    const [eth0] = ipJson<(IpLink & { address?: string })[]>(pod, ["-d", "addr", "show", "dev", "eth0"]);
    expect(eth0?.mtu).toBe(1450);
    expect(eth0?.address).toBe("0a:58:0a:f4:01:02");
    expect(ifaces[2]).toMatchObject({ mac: "0a:58:0a:f4:01:02" });
    expect(eth0?.flags).toContain("UP");
    expect(eth0?.addr_info?.filter((a) => a.family === "inet")).toEqual([expect.objectContaining({ local: "10.244.1.2", prefixlen: 24 })]);
    expect(ipJson<{ dst: string; gateway?: string }[]>(pod, ["route", "show", "default"])).toEqual([expect.objectContaining({ dst: "default", gateway: "10.244.1.1" })]);

    // packets really flow: the node reaches the pod through the bridge
    expect(run("ip", ["netns", "exec", node, "ping", "-c", "1", "-W", "2", "10.244.1.2"])).toContain("1 received");
    const record = JSON.parse(readFileSync(join(dir, "data", "weft", "10.244.1.2"), "utf8"));
    expect(record).toMatchObject({ containerId: "ctr-a", ifname: "eth0", podName: "web-0", podNamespace: "default" });
    const log = readFileSync(join(dir, "weft.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(log.at(-1)).toMatchObject({ level: "info", msg: "done", verb: "ADD", containerId: "ctr-a", pod: "web-0" });

    // two pods on the bridge reach each other
    const pod2 = pool.create();
    expect(add("ctr-b", pod2).json?.ips).toEqual([expect.objectContaining({ address: "10.244.1.3/24" })]);
    expect(run("ip", ["netns", "exec", pod2, "ping", "-c", "1", "-W", "2", "10.244.1.2"])).toContain("1 received");

    expect(del("ctr-a", pod).code).toBe(0);
    expect(del("ctr-b", pod2).code).toBe(0);
    expect(heldIps()).toEqual([]);
    expect(hostVeths()).toEqual([]);
    expect(ipJson<IpLink[]>(pod, ["link"]).map((l) => l.ifname)).toEqual(["lo"]);
  });

  it("replaces a host veth an interrupted ADD of the same attachment left, and fails (leaving nothing) when the pod's interface name is taken", () => {
    const pod = pool.create();
    const name = hostVethName("ctr-left", "eth0");
    run("ip", ["-n", node, "link", "add", name, "type", "veth", "peer", "name", "stale0"]);
    const r = add("ctr-left", pod);
    expect(r.code).toBe(0);
    const veth = ipJson<{ ifname: string; master?: string }[]>(node, ["link", "show", name])[0];
    expect(veth?.master).toBe("cni0");
    expect(hostVeths()).toEqual([name]); // the old pair (with its stale0 end) is gone
    expect(ipJson<{ ifname: string }[]>(pod, ["link", "show", "eth0"])[0]?.ifname).toBe("eth0");
    expect(del("ctr-left", pod).code).toBe(0);

    const busy = pool.create();
    run("ip", ["-n", busy, "link", "add", "eth0", "type", "veth", "peer", "name", "other0"]);
    const failed = add("ctr-busy", busy);
    expect(failed.code).toBe(1);
    expect(JSON.stringify(failed.json)).toMatch(/exists/);
    expect(hostVeths()).toEqual([]);
    expect(heldIps()).toEqual([]);
  });

  it("DEL is idempotent: twice, an unknown container, and a namespace that is gone all succeed", () => {
    const pod = pool.create();
    expect(add("ctr-c", pod).code).toBe(0);
    expect(del("ctr-c", pod).code).toBe(0);
    expect(del("ctr-c", pod).code).toBe(0);
    expect(del("never-seen", pod).code).toBe(0);
    const gone = pool.create();
    expect(add("ctr-d", gone).code).toBe(0);
    run("ip", ["netns", "del", gone]);
    const r = runPlugin({ nodeNetns: node, command: "DEL", config: conf, env: podEnv("ctr-d", gone) });
    expect(r.code).toBe(0);
    expect(heldIps()).toEqual([]);
    expect(hostVeths()).toEqual([]);
  });

  it("a failed ADD leaves nothing behind: no IP held, no veth on either side", () => {
    const pod = pool.create();
    run("ip", ["-n", pod, "link", "add", "eth0", "type", "veth", "peer", "name", "other0"]); // the pod already has an eth0
    const r = add("ctr-e", pod);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 100, msg: expect.stringMatching(/EEXIST/) });
    expect(heldIps()).toEqual([]);
    expect(hostVeths()).toEqual([]);
    expect(ipJson<IpLink[]>(pod, ["link"]).map((l) => l.ifname).sort()).toEqual(["eth0", "lo", "other0"]);
  });

  it("replaces the bridge's stale address when the node's subnet changed", () => {
    writeSubnetEnv("10.244.7.1/24");
    try {
      const pod = pool.create();
      const r = add("ctr-f", pod);
      expect(r.code).toBe(0);
      expect(r.json?.ips).toEqual([expect.objectContaining({ address: "10.244.7.2/24", gateway: "10.244.7.1" })]);
      const [bridge] = ipJson<IpLink[]>(node, ["addr", "show", "dev", "cni0"]);
      expect(bridge?.addr_info?.filter((a) => a.family === "inet").map((a) => a.local)).toEqual(["10.244.7.1"]);
      expect(del("ctr-f", pod).code).toBe(0);
    } finally {
      writeSubnetEnv();
    }
  });

  it("keeps the bridge's MAC fixed (0a:58 + the gateway) while pods come and go, so no pod's gateway ARP goes stale", () => {
    const macOf = (): string | undefined => ipJson<IpLink[]>(node, ["link", "show", "dev", "cni0"])[0]?.address;
    const pods = [0, 1, 2, 3].map(() => pool.create());
    const seen = new Set<string | undefined>();
    pods.forEach((pod, i) => {
      expect(add(`ctr-mac${i}`, pod).code).toBe(0);
      // The host ends get MACs below and above the bridge's: without a fixed MAC it would follow the lowest.
      spawnSync("ip", ["-n", node, "link", "set", hostVeths().at(-1) ?? "", "address", i % 2 ? "fe:00:00:00:00:0" + i : "02:00:00:00:00:0" + i]);
      seen.add(macOf());
    });
    pods.forEach((pod, i) => {
      expect(del(`ctr-mac${i}`, pod).code).toBe(0);
      seen.add(macOf());
    });
    expect([...seen]).toEqual(["0a:58:0a:f4:01:01"]);
  });

  it("routes only the cluster network through the gateway when isDefaultGateway is false", () => {
    const pod = pool.create();
    const r = add("ctr-g", pod, { ...conf, isDefaultGateway: false });
    expect(r.json?.routes).toEqual([{ dst: "10.244.0.0/16", gw: "10.244.1.1" }]);
    expect(ipJson<{ dst: string }[]>(pod, ["route", "show", "default"])).toEqual([]);
    expect(ipJson<{ dst: string; gateway: string }[]>(pod, ["route", "show", "10.244.0.0/16"])).toEqual([expect.objectContaining({ gateway: "10.244.1.1" })]);
    expect(del("ctr-g", pod).code).toBe(0);
  });

  it("answers an older CNI version with that version's result shape", () => {
    const pod = pool.create();
    const r = add("ctr-h", pod, { ...conf, cniVersion: "0.4.0" });
    expect(r.json).toMatchObject({ cniVersion: "0.4.0", ips: [{ version: "4", address: expect.any(String) }] });
    expect(del("ctr-h", pod).code).toBe(0);
  });
});

describe("CHECK", () => {
  it("passes on an intact pod and names what differs after a change", () => {
    const pod = pool.create();
    const added = add("ctr-i", pod);
    const withPrev = { ...conf, prevResult: added.json };
    expect(runPlugin({ nodeNetns: node, command: "CHECK", config: withPrev, env: podEnv("ctr-i", pod) }).code).toBe(0);
    run("ip", ["-n", pod, "route", "del", "default"]);
    const r = runPlugin({ nodeNetns: node, command: "CHECK", config: withPrev, env: podEnv("ctr-i", pod) });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 102, msg: expect.stringContaining("route 0.0.0.0/0 via 10.244.1.1 is missing") });
    expect(del("ctr-i", pod).code).toBe(0);
  });
});

describe("GC and STATUS", () => {
  it("GC releases IPs and deletes host veths of attachments that are no longer valid", () => {
    const keep = pool.create();
    const drop = pool.create();
    expect(add("ctr-keep", keep).code).toBe(0);
    expect(add("ctr-drop", drop).code).toBe(0);
    const r = runPlugin({ nodeNetns: node, command: "GC", config: { ...conf, "cni.dev/valid-attachments": [{ containerID: "ctr-keep", ifname: "eth0" }] } });
    expect(r.code).toBe(0);
    expect(heldIps()).toHaveLength(1);
    expect(hostVeths()).toHaveLength(1);
    expect(ipJson<IpLink[]>(drop, ["link"]).map((l) => l.ifname)).toEqual(["lo"]);
    expect(del("ctr-keep", keep).code).toBe(0);
  });

  // What libcni's GCNetworkList (v1.2+) sends: both keys when the runtime passes a list; neither
  // when it passes none (`cnitool gc`), after it has DEL'd every attachment it had cached.
  it("GC keeps what the older key cni.dev/attachments lists, as libcni sends it beside the spec's", () => {
    const keep = pool.create();
    const drop = pool.create();
    expect(add("ctr-old-keep", keep).code).toBe(0);
    expect(add("ctr-old-drop", drop).code).toBe(0);
    const r = runPlugin({ nodeNetns: node, command: "GC", config: { ...conf, "cni.dev/attachments": [{ containerID: "ctr-old-keep", ifname: "eth0" }] } });
    expect(r.code).toBe(0);
    expect(heldIps()).toHaveLength(1);
    expect(hostVeths()).toHaveLength(1);
    expect(del("ctr-old-keep", keep).code).toBe(0);
  });

  it.each([
    ["no valid-attachments key at all", {}],
    ["valid-attachments null (a nil list marshalled by Go)", { "cni.dev/valid-attachments": null, "cni.dev/attachments": null }],
  ])("GC with %s collects every attachment of the network, and logs what it collected", (_name, keys) => {
    const pods = [pool.create(), pool.create()];
    pods.forEach((p, i) => expect(add(`ctr-all-${i}`, p).code).toBe(0));
    expect(heldIps()).toHaveLength(2);
    const r = runPlugin({ nodeNetns: node, command: "GC", config: { ...conf, ...keys } });
    expect(r.stdout).toBe("");
    expect(r.code).toBe(0);
    expect(heldIps()).toEqual([]);
    expect(hostVeths()).toEqual([]);
    const gcLine = readFileSync(join(dir, "weft.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { msg: string; released?: { containerId: string }[]; validAttachments?: number }).filter((l) => l.msg === "gc").at(-1);
    expect(gcLine?.validAttachments).toBe(0);
    expect(gcLine?.released?.map((x) => x.containerId).sort()).toEqual(["ctr-all-0", "ctr-all-1"]);
  });

  it("STATUS fails with 50 until subnet.env exists, then succeeds", () => {
    const missing = { ...conf, subnetFile: join(dir, "nope.env") };
    const r = runPlugin({ nodeNetns: node, command: "STATUS", config: missing });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 50, msg: expect.stringContaining("weftd has not written it yet") });
    expect(runPlugin({ nodeNetns: node, command: "STATUS", config: conf }).code).toBe(0);
  });
});

describe("errors with the spec's codes", () => {
  const pod = () => pool.create();
  it.each([
    ["malformed stdin", "ADD", "{not json", {}, 6],
    ["unsupported version", "ADD", { cniVersion: "9.9.9", name: "weft", type: "weft" }, {}, 1],
    ["wrong type for a key", "ADD", { cniVersion: "1.1.0", name: "weft", type: "weft", mtu: "big" }, {}, 7],
    ["bad network name", "ADD", { cniVersion: "1.1.0", name: "../x", type: "weft" }, {}, 7],
    ["missing CNI_COMMAND", "", { cniVersion: "1.1.0", name: "weft" }, {}, 4],
    ["container ID with a slash", "ADD", null, { CNI_CONTAINERID: "../../etc" }, 4],
    ["interface name too long", "ADD", null, { CNI_IFNAME: "a-very-long-ifname" }, 4],
    ["CNI_ARGS with an unknown key", "ADD", null, { CNI_ARGS: "FOO=bar" }, 4],
  ])("%s", (_name, command, config, envOverride, code) => {
    const p = pod();
    const r = runPlugin({ nodeNetns: node, command, config: config ?? conf, env: { ...podEnv("ctr-x", p), ...envOverride } });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code, msg: expect.any(String) });
    expect(heldIps()).toEqual([]);
  });

  it("says try again later (11) when weftd has not written subnet.env", () => {
    const r = add("ctr-y", pool.create(), { ...conf, subnetFile: join(dir, "nope.env") });
    expect(r.json).toMatchObject({ code: 11, msg: expect.stringContaining("is weftd running on this node?") });
  });
});

describe("the executable's code cache", () => {
  it("writes one per verb after a successful run, uses it (never rewritten while valid), replaces a corrupt one, and removes earlier builds' files", () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "weft-cache-"));
    try {
      const inCache = (env: Record<string, string>) => ({ ...env, WEFT_CACHE_DIR: cacheDir });
      const addWith = (id: string, config: object = conf) => runPlugin({ nodeNetns: node, command: "ADD", config, env: inCache(podEnv(id, pool.create())) });
      const OLD_BUILD = "0123456789abcdef";
      const cacheFile = (verb: string) => readdirSync(cacheDir).find((f) => f.endsWith(`-${verb}.jscache`) && !f.includes(OLD_BUILD));
      const inode = (f: string) => statSync(join(cacheDir, f)).ino;

      // What an earlier build left: removed when this build writes its own.
      writeFileSync(join(cacheDir, `weft-${OLD_BUILD}-ADD.jscache`), "old");
      writeFileSync(join(cacheDir, `libc-calls-${OLD_BUILD}.node`), "old");
      // Builds before the libc addon unpacked koffi's library here: removed too.
      writeFileSync(join(cacheDir, `koffi-${OLD_BUILD}.node`), "old");
      // A failed ADD may have stopped before most of the verb's code ran: it leaves no cache.
      expect(addWith("cache-0", { ...conf, subnetFile: join(dir, "nope.env") }).json).toMatchObject({ code: 11 });
      expect(cacheFile("ADD")).toBeUndefined();

      expect(readdirSync(cacheDir).filter((f) => f.includes(OLD_BUILD)).sort()).toEqual([`koffi-${OLD_BUILD}.node`, `libc-calls-${OLD_BUILD}.node`, `weft-${OLD_BUILD}-ADD.jscache`]);
      expect(addWith("cache-1").code).toBe(0);
      expect(readdirSync(cacheDir).filter((f) => f.includes(OLD_BUILD))).toEqual([]);
      const file = cacheFile("ADD");
      expect(file).toMatch(/^weft-[0-9a-f]{16}-ADD\.jscache$/);
      // The executable compiled the plugin's code alone: weftd's and ipamctl's left no cache.
      expect(readdirSync(cacheDir).filter((f) => !/^(weft|libc-calls)-/.test(f))).toEqual([]);
      const first = inode(file!);
      expect(statSync(join(cacheDir, file!)).size).toBeGreaterThan(10_000);

      // Accepted by V8: a rejected cache would be written again (a new file, renamed into place).
      const r = addWith("cache-2");
      expect(r.code).toBe(0);
      expect(r.json).toMatchObject({ ips: [{ address: expect.stringMatching(/^10\.244\.1\.\d+\/24$/) }] });
      expect(inode(file!)).toBe(first);

      writeFileSync(join(cacheDir, file!), "not a code cache");
      expect(addWith("cache-3").code).toBe(0);
      expect(inode(file!)).not.toBe(first);
      expect(statSync(join(cacheDir, file!)).size).toBeGreaterThan(10_000);

      expect(runPlugin({ nodeNetns: node, command: "DEL", config: conf, env: inCache(podEnv("cache-3", pool.create())) }).code).toBe(0);
      expect(cacheFile("DEL")).toBeDefined();
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it("attaches pods when its cache cannot be written", () => {
    const cacheDir = mkdtempSync(join(tmpdir(), "weft-cache-"));
    try {
      const addIn = (id: string) => runPlugin({ nodeNetns: node, command: "ADD", config: conf, env: { ...podEnv(id, pool.create()), WEFT_CACHE_DIR: cacheDir } });
      expect(addIn("cache-ro-1").code).toBe(0);
      // A directory where the cache file goes: it can be neither read nor replaced.
      const name = readdirSync(cacheDir).find((f) => f.endsWith("-ADD.jscache"))!;
      rmSync(join(cacheDir, name));
      mkdirSync(join(cacheDir, name));
      const r = addIn("cache-ro-2");
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(statSync(join(cacheDir, name)).isDirectory()).toBe(true);
      expect(readdirSync(cacheDir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  it("fails with an I/O error that names the cache, and does not hang, when the libc addon cannot be unpacked", () => {
    const before = heldIps();
    const r = runPlugin({ nodeNetns: node, command: "ADD", config: conf, env: { ...podEnv("cache-none", pool.create()), WEFT_CACHE_DIR: "/proc/weft-cache" } });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ code: 5, msg: expect.stringContaining("WEFT_CACHE_DIR") });
    expect(heldIps()).toEqual(before);
  });
});
