// weft under containerd 1.6 (`ctr run --cni`), with containerd started by the test inside a throwaway
// node namespace, with its own root, state and socket. ctr reads /etc/cni/net.d and /opt/cni/bin:
// what the test adds there is removed afterwards, and what was there is left as it was.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuiltPlugin, WEFT_BIN } from "../helpers/cni.js";
import { ipJson, NetnsPool } from "../helpers/netns.js";
import { busyboxRootfs } from "../helpers/rootfs.js";

const hasContainerd = spawnSync("sh", ["-c", "command -v containerd && command -v ctr && command -v runc"]).status === 0;
const CONF_DIR = "/etc/cni/net.d";
const BIN_DIR = "/opt/cni/bin";
const CONFLIST = join(CONF_DIR, "00-weft-test.conflist"); // sorts first: ctr takes the first conflist
const pool = new NetnsPool("cd");
let dir: string;
let node: string;
let containerd: ChildProcess | undefined;
const added: string[] = [];
let madeBinDir = false;

function ctr(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync("nsenter", [`--net=/var/run/netns/${node}`, "ctr", "-a", join(dir, "containerd.sock"), ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status ?? -1, out: r.stdout.trim(), err: r.stderr };
}

function addFile(path: string, make: () => void): void {
  if (existsSync(path)) throw new Error(`${path} already exists: this test will not overwrite it`);
  make();
  added.push(path);
}

const heldIps = (): string[] => (existsSync(join(dir, "data", "weft")) ? readdirSync(join(dir, "data", "weft")).filter((f) => /^\d/.test(f)) : []);

describe.skipIf(!hasContainerd)("containerd: ctr run --cni", () => {
  beforeAll(async () => {
    requireBuiltPlugin();
    dir = mkdtempSync(join(tmpdir(), "weft-containerd-"));
    node = pool.create();
    busyboxRootfs(join(dir, "rootfs"));
    writeFileSync(join(dir, "subnet.env"), "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.6.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n");
    if (!existsSync(BIN_DIR)) {
      mkdirSync(BIN_DIR, { recursive: true });
      madeBinDir = true;
    }
    addFile(join(BIN_DIR, "weft"), () => copyFileSync(WEFT_BIN, join(BIN_DIR, "weft")));
    for (const p of ["loopback", "portmap"]) if (!existsSync(join(BIN_DIR, p))) addFile(join(BIN_DIR, p), () => symlinkSync(`/usr/lib/cni/${p}`, join(BIN_DIR, p)));
    addFile(CONFLIST, () =>
      writeFileSync(CONFLIST, JSON.stringify({ cniVersion: "1.0.0", name: "weft", plugins: [{ type: "weft", subnetFile: join(dir, "subnet.env"), dataDir: join(dir, "data") }, { type: "portmap", capabilities: { portMappings: true } }] })),
    );
    writeFileSync(
      join(dir, "config.toml"),
      `version = 2\nroot = "${join(dir, "root")}"\nstate = "${join(dir, "state")}"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "${join(dir, "containerd.sock")}"\n[ttrpc]\n  address = "${join(dir, "containerd.sock.ttrpc")}"\n`,
    );
    containerd = spawn("nsenter", [`--net=/var/run/netns/${node}`, "containerd", "--config", join(dir, "config.toml")], { stdio: "ignore" });
    for (let i = 0; i < 100 && ctr("version").code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  }, 30_000);

  afterAll(async () => {
    if (node && dir) for (const id of ["weft-server", "weft-client"]) {
      ctr("task", "kill", "-s", "SIGKILL", id);
      ctr("task", "rm", "-f", id);
      ctr("container", "rm", id);
    }
    if (containerd?.pid) {
      const exited = new Promise((r) => containerd?.once("exit", r));
      containerd.kill("SIGTERM");
      await exited;
    }
    for (const f of added.splice(0)) rmSync(f, { force: true });
    if (madeBinDir) rmSync("/opt/cni", { recursive: true, force: true });
    pool.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("gives containers weft addresses, lets them reach each other, and leaves nothing after removal", async () => {
    expect(ctr("version").code).toBe(0);
    const rootfs = join(dir, "rootfs");
    // ctr runs CNI DEL only for --rm containers (a detached one's network is never torn down by ctr),
    // so the server runs in the background with --rm and a bounded lifetime.
    const server = spawn("nsenter", [`--net=/var/run/netns/${node}`, "ctr", "-a", join(dir, "containerd.sock"), "run", "--rm", "--cni", "--rootfs", rootfs, "weft-server", "/bin/sleep", "6"], { stdio: "ignore" });
    const serverDone = new Promise<number | null>((r) => server.once("exit", r));
    for (let i = 0; i < 100 && heldIps().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(heldIps()).toEqual(["10.244.6.2"]);
    const client = ctr("run", "--rm", "--cni", "--rootfs", rootfs, "weft-client", "/bin/sh", "-c", "ip -4 -o addr show eth0; ping -c 2 -W 2 10.244.6.2");
    expect(client.out).toMatch(/inet 10\.244\.6\.3\/24/);
    expect(client.out).toMatch(/2 packets transmitted, 2 packets received/);
    expect(heldIps()).toEqual(["10.244.6.2"]); // --rm ran DEL for the client

    expect(await serverDone).toBe(0);
    expect(heldIps()).toEqual([]);
    expect(ipJson<unknown[]>(node, ["link", "show", "type", "veth"])).toEqual([]);
  }, 60_000);
});
