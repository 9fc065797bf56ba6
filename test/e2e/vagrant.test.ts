// vagrant/: the Vagrantfile validates, the provisioning scripts are shellcheck-clean, and the smoke
// script really attaches a pod through the built plugin and pings it (in throwaway namespaces).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { requireBuiltPlugin } from "../helpers/cni.js";
import { ipJson, NetnsPool, uniqueName } from "../helpers/netns.js";

const ROOT = resolve(import.meta.dirname, "../..");
const PROVISION = join(ROOT, "vagrant", "provision");
const has = (cmd: string): boolean => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

describe("vagrant/", () => {
  it("provisioning scripts are shellcheck-clean", () => {
    const scripts = readdirSync(PROVISION).filter((f) => f.endsWith(".sh")).map((f) => join(PROVISION, f));
    expect(scripts.length).toBeGreaterThanOrEqual(4);
    const r = spawnSync("shellcheck", scripts, { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it.skipIf(!has("vagrant"))("the Vagrantfile validates (vagrant validate --ignore-provider: no hypervisor here)", () => {
    const r = spawnSync("vagrant", ["validate", "--ignore-provider"], { cwd: join(ROOT, "vagrant"), encoding: "utf8", timeout: 120_000 });
    expect(r.stdout).toContain("Vagrantfile validated successfully");
    expect(r.status).toBe(0);
  });

  describe("smoke.sh against the built plugin", () => {
    const pool = new NetnsPool("vg");
    const dir = mkdtempSync(join(tmpdir(), "weft-smoke-"));
    const pods: string[] = [];
    afterAll(() => {
      for (const p of pods) spawnSync("ip", ["netns", "del", p]);
      pool.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it("creates a pod through the conflist, pings it, and removes it without leftovers", () => {
      requireBuiltPlugin();
      const node = pool.create();
      writeFileSync(join(dir, "subnet.env"), "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n");
      const list = JSON.parse(readFileSync(join(ROOT, "cni/examples/10-weft-portmap.conflist"), "utf8"));
      list.plugins[0] = { ...list.plugins[0], subnetFile: join(dir, "subnet.env"), dataDir: join(dir, "data") };
      writeFileSync(join(dir, "10-weft.conflist"), JSON.stringify(list));
      const env = { ...process.env, WEFT_CNI_BIN_DIR: join(ROOT, "dist", "bin"), WEFT_CONFLIST: join(dir, "10-weft.conflist") };
      const smoke = (...args: string[]) => spawnSync("nsenter", [`--net=/var/run/netns/${node}`, "bash", join(PROVISION, "smoke.sh"), ...args], { encoding: "utf8", env });
      const pod = uniqueName("wtsm");
      pods.push(pod);
      const created = smoke("create", pod);
      expect(created.stderr).toBe("");
      expect(created.stdout.trim()).toBe("10.244.3.2");
      expect(ipJson<{ addr_info: { local: string }[] }[]>(pod, ["addr", "show", "dev", "eth0"])[0]?.addr_info.map((a) => a.local)).toContain("10.244.3.2");
      expect(smoke("ping", pod, "10.244.3.1").stdout).toContain(`ok   ${pod} -> 10.244.3.1`);
      expect(smoke("ping", pod, "10.244.3.99").status).toBe(1);
      expect(smoke("delete", pod).status).toBe(0);
      expect(readdirSync(join(dir, "data", "weft")).filter((f) => /^\d/.test(f))).toEqual([]);
      expect(ipJson<unknown[]>(node, ["link", "show", "type", "veth"])).toEqual([]);
    });
  });
});
