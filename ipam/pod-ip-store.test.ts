import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidAttachmentError, PodIpStore, PoolExhaustedError } from "./pod-ip-store.js";

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "weft-ipstore-"));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const req = (containerId: string, ifname = "eth0") => ({ containerId, ifname, subnet: "10.244.1.0/24", gateway: "10.244.1.1" });

describe("PodIpStore", () => {
  it("allocates round-robin from the subnet, skipping network, gateway and broadcast", () => {
    const store = new PodIpStore({ dataDir, network: "weft" });
    const a = store.allocate({ ...req("c1"), podName: "web-0", podNamespace: "default" });
    expect(a).toMatchObject({ ip: "10.244.1.2", prefixLen: 24, gateway: "10.244.1.1", podName: "web-0", podNamespace: "default" });
    expect(store.allocate(req("c2")).ip).toBe("10.244.1.3");
    store.release({ containerId: "c1", ifname: "eth0" });
    // round-robin: the released .2 is not reused at once
    expect(store.allocate(req("c3")).ip).toBe("10.244.1.4");
    const record = JSON.parse(readFileSync(join(dataDir, "weft", "10.244.1.3"), "utf8"));
    expect(record).toMatchObject({ containerId: "c2", ifname: "eth0" });
    expect(statSync(join(dataDir, "weft")).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, "weft", "10.244.1.3")).mode & 0o777).toBe(0o600);
  });

  it("keeps a dual-stack pod's IPv6 address in a store of its own beside the IPv4 one", () => {
    const v4 = new PodIpStore({ dataDir, network: "weft" });
    const v6 = new PodIpStore({ dataDir, network: "weft", family: 6 });
    const req6 = (containerId: string) => ({ containerId, ifname: "eth0", subnet: "fd00:10:244:1::/64", gateway: "fd00:10:244:1::1" });
    expect(v4.allocate(req("c1")).ip).toBe("10.244.1.2");
    expect(v6.allocate(req6("c1"))).toMatchObject({ ip: "fd00:10:244:1::2", prefixLen: 64, gateway: "fd00:10:244:1::1" });
    expect(v6.allocate(req6("c2")).ip).toBe("fd00:10:244:1::3");
    expect(v6.allocate(req6("c1")).ip).toBe("fd00:10:244:1::2"); // idempotent
    expect(readFileSync(join(dataDir, "weft", "ipv6", "fd00:10:244:1::3"), "utf8")).toContain('"containerId":"c2"');
    expect(v4.list().map((a) => a.ip)).toEqual(["10.244.1.2"]);
    expect(v6.list().map((a) => a.ip).sort()).toEqual(["fd00:10:244:1::2", "fd00:10:244:1::3"]);
    expect(v6.gc([{ containerId: "c1", ifname: "eth0" }]).map((a) => a.ip)).toEqual(["fd00:10:244:1::3"]);
    expect(v6.release({ containerId: "c1", ifname: "eth0" })?.ip).toBe("fd00:10:244:1::2");
    expect(v4.find({ containerId: "c1", ifname: "eth0" })?.ip).toBe("10.244.1.2"); // the other family's record stays
    // A small IPv6 subnet is exhausted as an IPv4 one is, and says how many it has.
    const tiny = new PodIpStore({ dataDir, network: "tiny", family: 6 });
    const small = (id: string) => ({ containerId: id, ifname: "eth0", subnet: "fd00::/126", gateway: "fd00::1" });
    expect([tiny.allocate(small("a")).ip, tiny.allocate(small("b")).ip]).toEqual(["fd00::2", "fd00::3"]);
    expect(() => tiny.allocate(small("c"))).toThrow(/no free address in fd00::\/126: all 2 pod addresses are held/);
  });

  it("writes last_reserved_ip over its old bytes (same file), a shorter address leaving nothing of a longer one", () => {
    const store = new PodIpStore({ dataDir, network: "weft" });
    const last = join(dataDir, "weft", "last_reserved_ip");
    expect(store.allocate(req("c1")).ip).toBe("10.244.1.2");
    const inode = statSync(last).ino;
    // As an older version left it: unpadded, and longer than the next address.
    writeFileSync(last, "10.244.1.254");
    expect(store.allocate(req("c2")).ip).toBe("10.244.1.3"); // .254 is the last usable: wraps past .1 (the gateway) and .2 (held)
    expect(readFileSync(last, "utf8")).toBe("10.244.1.3     ");
    expect(store.allocate(req("c3")).ip).toBe("10.244.1.4");
    expect(readFileSync(last, "utf8").trim()).toBe("10.244.1.4");
    const v6 = new PodIpStore({ dataDir, network: "weft", family: 6 });
    v6.allocate({ containerId: "c1", ifname: "eth0", subnet: "fd00:10:244:1::/64", gateway: "fd00:10:244:1::1" });
    expect(readFileSync(join(dataDir, "weft", "ipv6", "last_reserved_ip"), "utf8")).toBe("fd00:10:244:1::2".padEnd(39));
    expect(statSync(last).ino).toBe(inode);
  });

  it("is idempotent for the same attachment, and distinct per interface", () => {
    const store = new PodIpStore({ dataDir, network: "weft" });
    const first = store.allocate(req("c1"));
    expect(store.allocate(req("c1")).ip).toBe(first.ip);
    expect(store.allocate(req("c1", "net1")).ip).not.toBe(first.ip);
    expect(store.find({ containerId: "c1", ifname: "eth0" })?.ip).toBe(first.ip);
  });

  it("releases by attachment, and releasing twice or an unknown container is a no-op", () => {
    const store = new PodIpStore({ dataDir, network: "weft" });
    const a = store.allocate(req("c1"));
    expect(store.release({ containerId: "c1", ifname: "eth0" })?.ip).toBe(a.ip);
    expect(store.release({ containerId: "c1", ifname: "eth0" })).toBeUndefined();
    expect(store.release({ containerId: "nobody", ifname: "eth0" })).toBeUndefined();
    expect(readdirSync(join(dataDir, "weft")).filter((f) => /^\d/.test(f))).toEqual([]);
    expect(readdirSync(join(dataDir, "weft", "attachments"))).toEqual([]);
  });

  it("says how many addresses exist when the pool is exhausted", () => {
    const store = new PodIpStore({ dataDir, network: "small" });
    const small = (id: string) => ({ containerId: id, ifname: "eth0", subnet: "10.244.9.0/29", gateway: "10.244.9.1" });
    const got = ["a", "b", "c", "d", "e"].map((id) => store.allocate(small(id)).ip);
    expect(new Set(got).size).toBe(5);
    expect(() => store.allocate(small("f"))).toThrow(PoolExhaustedError);
    expect(() => store.allocate(small("f"))).toThrow(/all 5 pod addresses are held/);
  });

  it("GC releases every allocation that belongs to no valid attachment", () => {
    const store = new PodIpStore({ dataDir, network: "weft" });
    for (const id of ["keep1", "drop1", "keep2", "drop2"]) store.allocate(req(id));
    const released = store.gc([{ containerId: "keep1", ifname: "eth0" }, { containerId: "keep2", ifname: "eth0" }]);
    expect(released.map((r) => r.containerId).sort()).toEqual(["drop1", "drop2"]);
    expect(store.list().map((r) => r.containerId).sort()).toEqual(["keep1", "keep2"]);
  });

  it("treats a pointer left without its record (crash mid-ADD) as nothing held", () => {
    const store = new PodIpStore({ dataDir, network: "weft" });
    store.allocate(req("c0"));
    writeFileSync(join(dataDir, "weft", "attachments", "c1:eth0"), "10.244.1.77");
    expect(store.find({ containerId: "c1", ifname: "eth0" })).toBeUndefined();
    expect(store.allocate(req("c1")).ip).toBe("10.244.1.3");
    store.gc([{ containerId: "c0", ifname: "eth0" }]);
    expect(readdirSync(join(dataDir, "weft", "attachments"))).toEqual(["c0:eth0"]);
  });

  it("GC removes a pointer a crash left at an address another attachment took since (found by the dual-stack crash test)", () => {
    const store = new PodIpStore({ dataDir, network: "weft" });
    expect(store.list()).toEqual([]); // makes the store's folders
    // c1's ADD was killed after its pointer, before its record; c2 then got that free address.
    writeFileSync(join(dataDir, "weft", "attachments", "c1:eth0"), "10.244.1.2");
    expect(store.allocate(req("c2")).ip).toBe("10.244.1.2");
    expect(store.find({ containerId: "c1", ifname: "eth0" })).toBeUndefined();
    expect(store.gc([{ containerId: "c2", ifname: "eth0" }])).toEqual([]);
    expect(readdirSync(join(dataDir, "weft", "attachments"))).toEqual(["c2:eth0"]);
    expect(store.find({ containerId: "c2", ifname: "eth0" })?.ip).toBe("10.244.1.2");
  });

  it("GC clears what a SIGKILL mid-write leaves: an empty pointer, temp files of both families' stores (found by the dual-stack crash test)", () => {
    for (const family of [4, 6] as const) {
      const store = new PodIpStore({ dataDir, network: `killed${family}`, family });
      const r = family === 6 ? { containerId: "c0", ifname: "eth0", subnet: "fd00:10:244:1::/64", gateway: "fd00:10:244:1::1" } : req("c0");
      store.allocate(r);
      // Killed between creating a temp file and writing it, and between writing and renaming it.
      writeFileSync(join(store.dir, "attachments", "c1:eth0.4242.tmp"), "");
      writeFileSync(join(store.dir, "attachments", "c2:eth0"), "");
      writeFileSync(join(store.dir, `${family === 6 ? "fd00:10:244:1::9" : "10.244.1.9"}.4243.tmp`), "{");
      expect(store.gc([{ containerId: "c0", ifname: "eth0" }])).toEqual([]);
      expect(readdirSync(join(store.dir, "attachments"))).toEqual(["c0:eth0"]);
      expect(readdirSync(store.dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
      expect(store.find({ containerId: "c2", ifname: "eth0" })).toBeUndefined();
    }
  });

  it("refuses container IDs, interface names and networks that could escape the data dir", () => {
    const store = new PodIpStore({ dataDir, network: "weft" });
    for (const containerId of ["../x", "a/b", "", "a\0b", "x".repeat(1025)]) expect(() => store.allocate(req(containerId))).toThrow(InvalidAttachmentError);
    for (const ifname of ["..", "a/b", "eth:0", "a b", "x".repeat(16), ""]) expect(() => store.allocate(req("c1", ifname))).toThrow(InvalidAttachmentError);
    expect(() => new PodIpStore({ dataDir, network: "../etc" })).toThrow(/network name/);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it("holds under 100 concurrent allocating processes: no duplicate, no lost IP", async () => {
    const script = `
      import { PodIpStore } from ${JSON.stringify(new URL("./pod-ip-store.ts", import.meta.url).pathname)};
      const store = new PodIpStore({ dataDir: process.argv[2], network: "weft" });
      const a = store.allocate({ containerId: "c" + process.argv[3], ifname: "eth0", subnet: "10.244.0.0/16", gateway: "10.244.0.1" });
      process.stdout.write(a.ip);
    `;
    const scriptFile = join(dataDir, "alloc.mts");
    writeFileSync(scriptFile, script);
    // Bundle once so each child starts fast; children are real OS processes contending for the lock.
    const esbuild = await import("esbuild");
    const bundled = join(dataDir, "alloc.mjs");
    await esbuild.build({ entryPoints: [scriptFile], bundle: true, platform: "node", format: "esm", outfile: bundled, logLevel: "silent" });
    const storeDir = join(dataDir, "store");
    const runOne = (i: number) =>
      new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, [bundled, storeDir, String(i)], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH } });
        let out = "";
        let err = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (err += d));
        // "close", not "exit": exit can come before the last of stdout has been read.
        p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`child ${i} exited ${code}: ${err}`))));
      });
    const ips = await Promise.all(Array.from({ length: 100 }, (_, i) => runOne(i)));
    expect(new Set(ips).size).toBe(100);
    const store = new PodIpStore({ dataDir: storeDir, network: "weft" });
    const held = store.list();
    expect(held).toHaveLength(100);
    expect(held.map((h) => h.ip).sort()).toEqual([...ips].sort());
    for (let i = 0; i < 100; i++) expect(store.release({ containerId: `c${i}`, ifname: "eth0" })).toBeDefined();
    expect(store.list()).toEqual([]);
    expect(readdirSync(join(storeDir, "weft")).sort()).toEqual(["attachments", "last_reserved_ip"]);
  }, 60_000);
});
