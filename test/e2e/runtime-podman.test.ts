// weft under a real container runtime: podman with its CNI backend, run inside a throwaway node
// namespace (entered with nsenter: `ip netns exec` remounts /sys and runc then fails).
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuiltPlugin, WEFT_BIN } from "../helpers/cni.js";
import { ipJson, NetnsPool } from "../helpers/netns.js";
import { busyboxRootfs } from "../helpers/rootfs.js";

const hasPodman = spawnSync("sh", ["-c", "command -v podman && command -v runc"]).status === 0;
const pool = new NetnsPool("pm");
let dir: string;
let node: string;

function podman(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(
    "nsenter",
    [`--net=/var/run/netns/${node}`, "podman", "--root", join(dir, "root"), "--runroot", join(dir, "runroot"), "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--runtime", "runc", ...args],
    { encoding: "utf8", env: { PATH: process.env.PATH, CONTAINERS_CONF: join(dir, "containers.conf"), HOME: dir }, timeout: 60_000 },
  );
  return { code: r.status ?? -1, out: r.stdout.trim(), err: r.stderr };
}

const heldIps = (): string[] => readdirSync(join(dir, "data", "weft")).filter((f) => /^\d/.test(f));

describe.skipIf(!hasPodman)("podman with the CNI backend", () => {
  beforeAll(() => {
    requireBuiltPlugin();
    dir = mkdtempSync(join(tmpdir(), "weft-podman-"));
    node = pool.create();
    busyboxRootfs(join(dir, "rootfs"));
    mkdirSync(join(dir, "cni-bin"));
    mkdirSync(join(dir, "net.d"));
    copyFileSync(WEFT_BIN, join(dir, "cni-bin", "weft"));
    for (const p of ["portmap", "loopback"]) symlinkSync(`/usr/lib/cni/${p}`, join(dir, "cni-bin", p));
    writeFileSync(join(dir, "subnet.env"), "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.5.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n");
    writeFileSync(
      join(dir, "net.d", "weft.conflist"),
      JSON.stringify({ cniVersion: "1.0.0", name: "weft", plugins: [{ type: "weft", subnetFile: join(dir, "subnet.env"), dataDir: join(dir, "data") }, { type: "portmap", capabilities: { portMappings: true } }] }),
    );
    // An IPv6-only network beside it, as weftd writes subnet.env for one (no FLANNEL_NETWORK or FLANNEL_SUBNET).
    writeFileSync(join(dir, "subnet6.env"), "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:6::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n");
    writeFileSync(join(dir, "net.d", "weft6.conflist"), JSON.stringify({ cniVersion: "1.0.0", name: "weft6", plugins: [{ type: "weft", bridge: "cni6", subnetFile: join(dir, "subnet6.env"), dataDir: join(dir, "data") }] }));
    writeFileSync(
      join(dir, "containers.conf"),
      `[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[network]\nnetwork_backend = "cni"\ncni_plugin_dirs = ["${join(dir, "cni-bin")}"]\nnetwork_config_dir = "${join(dir, "net.d")}"\ndefault_network = "weft"\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\n`,
    );
  });

  afterAll(() => {
    if (node) podman("rm", "-af", "-t", "0");
    if (node) podman("system", "reset", "-f");
    pool.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("gives containers weft addresses, lets them reach each other, and leaves nothing after removal", () => {
    const rootfs = join(dir, "rootfs");
    const server = podman("run", "-d", "--name", "server", "--network", "weft", "--rootfs", rootfs, "/bin/sleep", "120");
    expect(server.err).not.toMatch(/error/i);
    expect(server.code).toBe(0);
    const serverIp = podman("inspect", "-f", "{{.NetworkSettings.Networks.weft.IPAddress}}", "server").out;
    expect(serverIp).toBe("10.244.5.2");

    const client = podman("run", "--rm", "--network", "weft", "--rootfs", rootfs, "/bin/sh", "-c", `ip -4 -o addr show eth0; ping -c 2 -W 2 ${serverIp}`);
    expect(client.code).toBe(0);
    expect(client.out).toMatch(/inet 10\.244\.5\.3\/24/);
    expect(client.out).toMatch(/2 packets transmitted, 2 packets received/);

    // the node sees both on cni0 while they run; the client's DEL already released its address
    expect(heldIps()).toEqual(["10.244.5.2"]);
    expect(ipJson<{ master?: string }[]>(node, ["link", "show", "type", "veth"]).map((l) => l.master)).toEqual(["cni0"]);

    expect(podman("rm", "-f", "-t", "0", "server").code).toBe(0);
    expect(heldIps()).toEqual([]);
    expect(ipJson<unknown[]>(node, ["link", "show", "type", "veth"])).toEqual([]);
  }, 90_000);

  it("runs containers on an IPv6-only weft network: each its IPv6 address alone, reaching the other", () => {
    const rootfs = join(dir, "rootfs");
    const server = podman("run", "-d", "--name", "server6", "--network", "weft6", "--rootfs", rootfs, "/bin/sleep", "120");
    expect(server.code, server.err).toBe(0);
    expect(podman("inspect", "-f", "{{.NetworkSettings.Networks.weft6.GlobalIPv6Address}}", "server6").out).toBe("fd00:10:244:6::2");
    expect(podman("inspect", "-f", "{{.NetworkSettings.Networks.weft6.IPAddress}}", "server6").out).toBe("");
    const client = podman("run", "--rm", "--network", "weft6", "--rootfs", rootfs, "/bin/sh", "-c", "ip -o addr show eth0 scope global; ping -c 2 -W 2 fd00:10:244:6::2");
    expect(client.code, client.err).toBe(0);
    expect(client.out).toMatch(/inet6 fd00:10:244:6::3\/64/);
    expect(client.out).not.toMatch(/inet /);
    expect(client.out).toMatch(/2 packets transmitted, 2 packets received/);
    expect(podman("rm", "-f", "-t", "0", "server6").code).toBe(0);
    expect(readdirSync(join(dir, "data", "weft6", "ipv6")).filter((f) => f.includes(":"))).toEqual([]);
    expect(ipJson<unknown[]>(node, ["link", "show", "type", "veth"])).toEqual([]);
  }, 90_000);
});
