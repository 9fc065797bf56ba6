import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PLUGIN_DEFAULTS, readPluginNetworks } from "./plugin-networks.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
const confDir = (files: Record<string, string>): string => {
  const dir = mkdtempSync(join(tmpdir(), "weft-netd-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
};

describe("the plugin's networks, read from the CNI conf dir as a runtime reads it", () => {
  it("finds every weft plugin of conflists and single confs, with the plugin's own defaults", () => {
    const dir = confDir({
      "10-weft.conflist": JSON.stringify({ cniVersion: "1.0.0", name: "cbr0", plugins: [{ type: "weft", dataDir: "/var/lib/cni/flannel" }, { type: "portmap" }] }),
      "20-other.conf": JSON.stringify({ cniVersion: "1.0.0", name: "second", type: "weft", subnetFile: "/run/x/subnet.env", bridge: "cni1" }),
      "30-bridge.conflist": JSON.stringify({ cniVersion: "1.0.0", name: "br", plugins: [{ type: "bridge" }] }),
      ".10-weft.conflist.tmp": "{half a fi",
      "README": "not a config",
    });
    const { networks, unreadable } = readPluginNetworks(dir);
    expect(networks).toEqual([
      { file: join(dir, "10-weft.conflist"), name: "cbr0", dataDir: "/var/lib/cni/flannel", subnetFile: PLUGIN_DEFAULTS.subnetFile, bridge: PLUGIN_DEFAULTS.bridge },
      { file: join(dir, "20-other.conf"), name: "second", dataDir: PLUGIN_DEFAULTS.dataDir, subnetFile: "/run/x/subnet.env", bridge: "cni1" },
    ]);
    expect(unreadable).toEqual([]);
  });

  it("names a file it cannot read and why, and reads the others", () => {
    const dir = confDir({ "05-broken.conflist": "{not json", "06-noname.conflist": JSON.stringify({ plugins: [{ type: "weft" }] }), "10-weft.conflist": JSON.stringify({ name: "weft", plugins: [{ type: "weft" }] }) });
    const { networks, unreadable } = readPluginNetworks(dir);
    expect(networks.map((n) => n.name)).toEqual(["weft"]);
    expect(unreadable.map((u) => u.file)).toEqual([join(dir, "05-broken.conflist"), join(dir, "06-noname.conflist")]);
    expect(unreadable[1]?.why).toMatch(/no network "name"/);
  });

  it("has none in a conf dir that does not exist", () => {
    expect(readPluginNetworks("/nonexistent/cni/net.d")).toEqual({ networks: [], unreadable: [] });
  });
});
