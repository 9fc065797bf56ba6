// One node's network namespace for a test of weftd alone: an underlay interface (eth0, one end of a
// veth pair), an etcd of its own inside, a scratch directory, and the weftd processes the test starts
// there — all removed after the tests, whatever happened.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { startEtcd, type EtcdServer } from "./etcd.js";
import { NetnsPool, run } from "./netns.js";

export const WEFTD = resolve(import.meta.dirname, "../../dist/bin/weftd");

export interface NodeNamespace {
  netns: string;
  dir: string;
  etcd: EtcdServer;
  etcdctl(...args: string[]): string;
  /** weftd started in the namespace with `args`; its output collected in `log()`. */
  startWeftd(args: string[]): { proc: ChildProcess; log: () => string };
}

/** `ip`: the node's underlay address (a /24 on eth0); `tag`: a short name for its namespaces and directory. */
export function useNodeNamespace(tag: string, ip: string): () => NodeNamespace {
  const pool = new NetnsPool(tag);
  const procs: ChildProcess[] = [];
  let node: NodeNamespace | undefined;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), `weft-${tag}-`));
    const netns = pool.create();
    run("ip", ["-n", netns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"]);
    run("ip", ["-n", netns, "addr", "add", `${ip}/24`, "dev", "eth0"]);
    for (const l of ["eth0", "eth1"]) run("ip", ["-n", netns, "link", "set", l, "up"]);
    const etcd = await startEtcd({ netns, host: ip });
    node = {
      netns,
      dir,
      etcd,
      etcdctl: (...args) => run("ip", ["netns", "exec", netns, "etcdctl", `--endpoints=${etcd.endpoint}`, ...args]),
      startWeftd: (args) => {
        const proc = spawn("ip", ["netns", "exec", netns, WEFTD, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH } });
        procs.push(proc);
        let log = "";
        proc.stdout!.on("data", (d: Buffer) => (log += d.toString()));
        proc.stderr!.on("data", (d: Buffer) => (log += d.toString()));
        return { proc, log: () => log };
      },
    };
  }, 30_000);
  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
    await node?.etcd.stop();
    pool.cleanup();
    if (node?.dir) rmSync(node.dir, { recursive: true, force: true });
  });
  return () => {
    if (!node) throw new Error("the node's namespace is made in beforeAll");
    return node;
  };
}
