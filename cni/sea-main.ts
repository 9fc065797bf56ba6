// The entry point of the one executable, `weft`: the CNI plugin, weftd or ipamctl, by the name it is
// called with (`weftd` and `ipamctl` are links to it) or by its first argument (`weft daemon …`,
// `weft ipamctl …`); see cni/sea-role.ts. Only the chosen role's code is read and compiled
// (cni/sea-asset.ts): the plugin, exec'd for every pod, never loads weftd's or ipamctl's.
import { writeSync } from "node:fs";
import { DAEMON_V8_FLAGS } from "../daemon/v8-flags.js";
import { runRoleAsset } from "./sea-asset.js";
import { chooseRole } from "./sea-role.js";
import { versionLine } from "./version.js";

const hashes = typeof __WEFT_ASSET_HASHES__ === "object" ? __WEFT_ASSET_HASHES__ : {};
const { role, bySubcommand } = chooseRole(process.argv0, process.execPath, process.argv[2]);
// weftd and ipamctl parse process.argv after its first two entries, as when they were called by name.
if (bySubcommand) process.argv.splice(2, 1);

if (role === "plugin") {
  // --version answers before any of the plugin's code: it shows what starting this executable costs with no work.
  if (process.argv.includes("--version")) {
    writeSync(1, versionLine());
    process.exit(0);
  }
  const command = process.env.CNI_COMMAND ?? "";
  runRoleAsset({ asset: "plugin.js", hash: String(hashes["plugin.js"]), kind: "weft", variant: /^[A-Z]{1,10}$/.test(command) ? command : "none" });
} else if (role === "daemon") {
  // Before the compile: the flags then hold for all of weftd's code, and its code cache stays valid.
  // node:v8 is required here, not imported: the plugin's start does not load it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only in this branch
  (require("node:v8") as typeof import("node:v8")).setFlagsFromString(DAEMON_V8_FLAGS);
  runRoleAsset({ asset: "weftd.js", hash: String(hashes["weftd.js"]), kind: "weftd" });
} else {
  runRoleAsset({ asset: "ipamctl.js", hash: String(hashes["ipamctl.js"]), kind: "ipamctl" });
}
