// Crash consistency of the plugin, property-based: random sequences of ADD, DEL, CHECK and GC over a
// handful of containers, with the plugin SIGKILLed at random moments of ADD and DEL. A runtime treats a
// killed ADD as failed and a killed DEL as not done, and finally runs GC with the attachments it
// believes live. Then, whatever happened: no IP held twice, every held IP belongs to a live attachment,
// every live attachment has its veth and address, no host veth without one, no stray file. On a
// dual-stack node every pod holds two addresses in two stores and both must hold these; on an
// IPv6-only node the IPv6 store alone, and the IPv4 one stays empty.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostVethName } from "../../ipam/attachment.js";
import { requireBuiltPlugin, WEFT_BIN } from "../helpers/cni.js";
import { ipJson, NetnsPool, netnsPath } from "../helpers/netns.js";

const SLOTS = 4;
const REPO = resolve(import.meta.dirname, "../..");
type Op = { verb: "ADD" | "DEL" | "CHECK"; slot: number; killAfterMs?: number } | { verb: "GC" };

interface Outcome {
  code: number | null;
  killed: boolean;
  stdout: string;
}

const NODES = [
  { name: "dual-stack", families: [4, 6] as const, env: "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:7::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n" },
  { name: "IPv6-only", families: [6] as const, env: "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:7::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n" },
];

describe.each(NODES)("plugin crash consistency (SIGKILL during ADD and DEL), $name node", ({ families, env: subnetEnv }) => {
  const pool = new NetnsPool("cr");
  let node = "";
  let pods: string[] = [];
  let dir = "";
  let conf: Record<string, unknown>;
  let round = 0;

  beforeAll(() => {
    requireBuiltPlugin();
    node = pool.create();
    pods = Array.from({ length: SLOTS }, () => pool.create());
    dir = mkdtempSync(join(tmpdir(), "weft-crash-"));
    writeFileSync(join(dir, "subnet.env"), subnetEnv);
    conf = { cniVersion: "1.1.0", name: "crash", type: "weft", subnetFile: join(dir, "subnet.env"), dataDir: join(dir, "data"), bridge: "cr0" };
  });

  afterAll(() => {
    pool.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the plugin as a runtime does (minimal env, inside the node namespace); SIGKILLs it after `killAfterMs`. */
  function plugin(command: string, env: Record<string, string>, config: object, killAfterMs?: number, bin = WEFT_BIN): Promise<Outcome> {
    return new Promise((resolve) => {
      // nsenter execs the plugin in place: its pid is the plugin's.
      const child = spawn("nsenter", [`--net=/var/run/netns/${node}`, bin], { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", CNI_COMMAND: command, CNI_PATH: "/usr/lib/cni", ...env }, stdio: ["pipe", "pipe", "ignore"] });
      let stdout = "";
      let killed = false;
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      const timer = killAfterMs === undefined ? undefined : setTimeout(() => (killed = child.kill("SIGKILL")), killAfterMs);
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ code, killed: (killed && code === null) || signal === "SIGKILL", stdout });
      });
      child.stdin.end(JSON.stringify(config));
    });
  }

  const cid = (slot: number): string => `crash${round}-${slot}`;
  const env = (slot: number): Record<string, string> => ({ CNI_CONTAINERID: cid(slot), CNI_NETNS: netnsPath(pods[slot]!), CNI_IFNAME: "eth0" });

  async function execute(ops: Op[]): Promise<{ live: Map<number, string>; log: string[] }> {
    const live = new Map<number, string>(); // slot → IP from its ADD result
    const log: string[] = [];
    for (const op of ops) {
      if (op.verb === "GC") {
        const attachments = [...live.keys()].map((s) => ({ containerID: cid(s), ifname: "eth0" }));
        const r = await plugin("GC", {}, { ...conf, "cni.dev/valid-attachments": attachments });
        log.push(`GC ${r.code}`);
        expect(r.code, r.stdout).toBe(0);
        continue;
      }
      if (op.verb === "ADD" && live.has(op.slot)) continue; // a runtime never ADDs a live attachment again
      if (op.verb === "CHECK" && !live.has(op.slot)) continue;
      const config = op.verb === "CHECK" ? { ...conf, prevResult: JSON.parse(live.get(op.slot)!) } : conf;
      const r = await plugin(op.verb, env(op.slot), config, op.verb === "CHECK" ? undefined : op.killAfterMs);
      const leftovers = r.killed ? ` (left: ${ipJson<unknown[]>(node, ["link", "show", "type", "veth"]).length} veths, ${(existsSync(join(dir, "data", "crash")) ? readdirSync(join(dir, "data", "crash")) : []).filter((f) => /^\d/.test(f)).length} IPs)` : "";
      log.push(`${op.verb} ${op.slot}${op.killAfterMs !== undefined ? ` kill@${op.killAfterMs}ms` : ""} → ${r.killed ? "killed" : r.code}${leftovers}`);
      if (op.verb === "ADD") {
        if (!r.killed) expect(r.code, r.stdout).toBe(0);
        if (r.code === 0) live.set(op.slot, r.stdout);
      } else if (op.verb === "DEL") {
        live.delete(op.slot); // killed or not, the runtime no longer counts it (it would retry DEL)
        if (!r.killed) expect(r.code, r.stdout).toBe(0);
      } else expect(r.code, r.stdout).toBe(0);
    }
    // The runtime's final word: GC with what it believes live.
    const final = await plugin("GC", {}, { ...conf, "cni.dev/valid-attachments": [...live.keys()].map((s) => ({ containerID: cid(s), ifname: "eth0" })) });
    expect(final.code, final.stdout).toBe(0);
    return { live, log };
  }

  /** One family's store: its records, each held once and by a live attachment, its index, no stray file. */
  function storeInvariants(family: 4 | 6, live: Map<number, string>): { ip: string; containerId: string }[] {
    const store = family === 6 ? join(dir, "data", "crash", "ipv6") : join(dir, "data", "crash");
    const record = family === 6 ? /:/ : /^\d+\.\d+\.\d+\.\d+$/;
    // A family the node lacks: its store holds nothing, whatever happened.
    if (!(families as readonly number[]).includes(family)) {
      expect(existsSync(store) ? readdirSync(store).filter((f) => record.test(f)) : []).toEqual([]);
      return [];
    }
    // A store exists from its first allocation on (the IPv6 one only once an ADD got that far).
    if (!existsSync(store)) {
      expect(live.size).toBe(0);
      return [];
    }
    const files = readdirSync(store);
    const held = files.filter((f) => record.test(f));
    const records = held.map((ip) => ({ ip, ...(JSON.parse(readFileSync(join(store, ip), "utf8")) as { containerId: string; ifname: string }) }));
    // No IP held twice (one file per IP), and each held IP belongs to a live attachment, and vice versa.
    expect(new Set(records.map((r) => r.containerId)).size).toBe(records.length);
    expect(records.map((r) => r.containerId).sort()).toEqual([...live.keys()].map(cid).sort());
    const attachments = readdirSync(join(store, "attachments")).sort();
    expect(attachments).toEqual([...live.keys()].map((s) => `${cid(s)}:eth0`).sort());
    // No stray file: only records, the attachment index, the round-robin cursor, the lock (and the IPv6 store).
    expect(files.filter((f) => !held.includes(f) && !["attachments", "last_reserved_ip", "lock", "ipv6"].includes(f))).toEqual([]);
    return records;
  }

  function invariants(live: Map<number, string>): void {
    const records = storeInvariants(4, live);
    const records6 = storeInvariants(6, live);
    // Every live attachment has its veth and both its addresses; no other host veth exists.
    const veths = ipJson<{ ifname: string }[]>(node, ["link", "show", "type", "veth"]).map((l) => l.ifname).sort();
    expect(veths).toEqual([...live.keys()].map((s) => hostVethName(cid(s), "eth0")).sort());
    for (const [slot, result] of live) {
      const ips = (JSON.parse(result) as { ips: { address: string }[] }).ips.map((i) => i.address.split("/")[0]);
      expect(ips).toHaveLength(families.length);
      const ip = ips.find((x) => !x?.includes(":"));
      const ip6 = ips.find((x) => x?.includes(":"));
      const addrs = ipJson<{ addr_info: { local: string }[] }[]>(pods[slot], ["addr", "show", "dev", "eth0"]).flatMap((l) => l.addr_info.map((a) => a.local));
      for (const x of ips) expect(addrs).toContain(x);
      expect(records.find((r) => r.containerId === cid(slot))?.ip).toBe(ip);
      expect(records6.find((r) => r.containerId === cid(slot))?.ip).toBe(ip6);
    }
    // A pod that is not live has no interface left but loopback.
    for (let s = 0; s < SLOTS; s++) if (!live.has(s)) expect(ipJson<{ ifname: string }[]>(pods[s], ["link", "show"]).map((l) => l.ifname)).toEqual(["lo"]);
  }

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ verb: fc.constant("ADD" as const), slot: fc.integer({ min: 0, max: SLOTS - 1 }), killAfterMs: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined, freq: 2 }) }) },
    { weight: 3, arbitrary: fc.record({ verb: fc.constant("DEL" as const), slot: fc.integer({ min: 0, max: SLOTS - 1 }), killAfterMs: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined, freq: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ verb: fc.constant("CHECK" as const), slot: fc.integer({ min: 0, max: SLOTS - 1 }) }) },
    { weight: 1, arbitrary: fc.constant({ verb: "GC" as const }) },
  );

  it("keeps every invariant over random sequences with kills (fast-check; failures shrink to a minimal sequence)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 4, maxLength: 14 }), async (ops) => {
        round++;
        // Each run starts clean: the previous run's live attachments are deleted by GC with none valid.
        await plugin("GC", {}, { ...conf, "cni.dev/valid-attachments": [] });
        const { live, log } = await execute(ops);
        try {
          invariants(live);
        } catch (err) {
          throw new Error(`${(err as Error).message}\nsequence: ${log.join(" · ")}`);
        }
      }),
      { numRuns: Number(process.env.CRASH_RUNS ?? 12) },
    );
  }, 300_000);
  it("leaves a consistent state at each deterministic crash point of ADD (a test build's), whether the runtime retries ADD or DELs", async () => {
    // The test build: the plugin bundled with its crash points compiled in, run by this Node.
    const out = join(dir, "weft-crash.cjs");
    await build({ entryPoints: [join(REPO, "cni/main.ts")], outfile: out, bundle: true, platform: "node", format: "cjs", target: "node20", external: ["koffi"], logLevel: "silent", define: { __WEFT_CRASH_POINTS__: "true", "import.meta.url": JSON.stringify(pathToFileURL(join(REPO, "cni/main.ts")).href) } });
    const bin = join(dir, "weft-crash");
    writeFileSync(bin, `#!/bin/sh\nexec ${process.execPath} ${out} "$@"\n`, { mode: 0o755 });
    // The shipped plugin has none of it.
    expect(readFileSync(WEFT_BIN).includes("WEFT_CRASH_AT")).toBe(false);
    for (const point of ["ip-reserved", "veth-created", "before-result"]) {
      for (const recovery of ["retry ADD", "DEL"]) {
        round++;
        await plugin("GC", {}, { ...conf, "cni.dev/valid-attachments": [] });
        const crashed = await plugin("ADD", { ...env(0), WEFT_CRASH_AT: point }, conf, undefined, bin);
        expect(crashed.killed, `${point}: the test build killed itself`).toBe(true);
        expect(crashed.stdout).toBe("");
        const live = new Map<number, string>();
        if (recovery === "retry ADD") {
          const again = await plugin("ADD", env(0), conf, undefined, bin);
          expect(again.code, `${point}, ${recovery}: ${again.stdout}`).toBe(0);
          live.set(0, again.stdout);
        } else {
          expect((await plugin("DEL", env(0), conf, undefined, bin)).code, `${point}, ${recovery}`).toBe(0);
        }
        try {
          invariants(live);
        } catch (err) {
          throw new Error(`after a crash at ${point}, then ${recovery}: ${(err as Error).message}`);
        }
      }
    }
    await plugin("GC", {}, { ...conf, "cni.dev/valid-attachments": [] });
  }, 60_000);
});
