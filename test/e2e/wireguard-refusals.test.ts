// weftd with the wireguard backend where it cannot have one, in a namespace of its own beside its
// etcd: refusing to start with a message that says what is missing and what to do, and leaving no
// lease behind. (This machine's kernel has no WireGuard module: the kernel's refusal is real here.)
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { NetnsPool } from "../helpers/netns.js";
import { useNodeNamespace, WEFTD } from "../helpers/node-namespace.js";
import { wgDump } from "../helpers/wireguard.js";

const IP = "10.97.0.1";

describe("weftd refusing a wireguard backend it cannot have", () => {
  const node = useNodeNamespace("wr", IP);
  const others = new NetnsPool("wro");
  let other: ChildProcess | undefined;

  /** weftd run to its end (a refusal) with a wireguard network under `/<prefix>/network`; and the leases left there. */
  const weftd = (prefix: string, ...extra: string[]) => {
    const { netns, dir, etcd, etcdctl } = node();
    writeFileSync(join(dir, `${prefix}.json`), JSON.stringify({ Network: "10.244.0.0/16", Backend: { Type: "wireguard" } }));
    const args = ["--etcd-endpoints", etcd.endpoint, "--etcd-prefix", `/${prefix}/network`, "--iface", "eth0", "--subnet-file", join(dir, prefix, "subnet.env"), "--cni-conf-dir", join(dir, "net.d"), "--healthz-addr", "127.0.0.1:19905", "--net-conf", join(dir, `${prefix}.json`), "--wireguard-key-file", join(dir, prefix, "wg.key"), ...extra];
    const r = spawnSync("ip", ["netns", "exec", netns, WEFTD, ...args], { encoding: "utf8", env: { PATH: process.env.PATH }, timeout: 20_000 });
    return { status: r.status, out: r.stdout + r.stderr, leases: etcdctl("get", `/${prefix}/network/subnets/`, "--prefix", "--keys-only").trim() };
  };

  afterAll(() => {
    if (other?.exitCode === null) other.kill("SIGTERM");
    others.cleanup();
  });

  it("with neither the kernel's module nor wireguard-go, says so and what to install", () => {
    const r = weftd("none", "--wireguard-implementation", "auto", "--wireguard-go", join(node().dir, "no-such-wireguard-go"));
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/"level":"fatal".*no WireGuard of either kind: the kernel has no wireguard module and .*no-such-wireguard-go \(wireguard-go\) is not installed; load the module \(modprobe wireguard\) or install wireguard-go/);
    expect(r.leases).toBe("");
  });

  it("asked for the kernel's WireGuard on a kernel without it, refuses rather than falling back", () => {
    const r = weftd("kernel", "--wireguard-implementation", "kernel");
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/"level":"fatal".*kernel WireGuard is unavailable: the kernel has no \\"wireguard\\" generic netlink family \(no WireGuard module\)\. Load it with `modprobe wireguard`/);
    expect(r.leases).toBe("");
  });

  it("refuses a device name whose UAPI socket another namespace's device serves (the socket directory is shared)", async () => {
    const name = `wr${process.pid % 100000}x`;
    const elsewhere = others.create();
    other = spawn("ip", ["netns", "exec", elsewhere, "wireguard-go", "-f", name], { env: { ...process.env, WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1" }, stdio: "ignore" });
    const deadline = Date.now() + 5_000;
    while (!wgDump(elsewhere, name) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(wgDump(elsewhere, name)).toBeDefined();
    const r = weftd("taken", "--wireguard-implementation", "userspace", "--wireguard-device", name);
    expect(r.status).toBe(1);
    expect(r.out).toContain(`is served by a WireGuard device ${name} in another network namespace: give this node's device another name (--wireguard-device)`);
    expect(wgDump(elsewhere, name)?.peers).toEqual([]); // the other namespace's device untouched
    expect(existsSync(join(node().dir, "taken", "subnet.env"))).toBe(false);
  }, 30_000);
});
