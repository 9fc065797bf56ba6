// The one executable: the CNI plugin, weftd or ipamctl by the name it is called with (links to one file)
// or by its first argument; each role compiles only its own code, with a code cache that holds.
import { spawnSync } from "node:child_process";
import { linkSync, lstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBuiltPlugin, WEFT_BIN } from "../helpers/cni.js";

const BIN_DIR = resolve(WEFT_BIN, "..");
let dir: string;
let cacheDir: string;

/** Runs a name for the executable as a runtime or an operator would: a bare environment, its own cache. */
function run(path: string, ...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(path, args, { encoding: "utf8", env: { PATH: "/usr/bin:/bin", WEFT_CACHE_DIR: cacheDir }, timeout: 20_000, killSignal: "SIGKILL" });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
const firstLine = (path: string, ...args: string[]) => run(path, ...args).out.split("\n")[0];

beforeAll(() => {
  requireBuiltPlugin();
  // Under dist/: a hard link must be on the executable's file system.
  dir = mkdtempSync(join(BIN_DIR, "..", "multicall-test-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the one executable", () => {
  it("is built once: dist/bin/weftd and dist/bin/ipamctl are links to dist/bin/weft", () => {
    expect(lstatSync(WEFT_BIN).isFile()).toBe(true);
    for (const name of ["weftd", "ipamctl"]) {
      expect(lstatSync(join(BIN_DIR, name)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(BIN_DIR, name))).toBe("weft");
    }
    expect(readdirSync(BIN_DIR).sort()).toEqual(["ipamctl", "weft", "weftd"]);
  });

  it("is each program by its name, through a symbolic link or a hard link, and by its first argument", () => {
    cacheDir = mkdtempSync(join(dir, "cache-"));
    symlinkSync(WEFT_BIN, join(dir, "weftd"));
    linkSync(WEFT_BIN, join(dir, "ipamctl"));
    expect(firstLine(WEFT_BIN, "--version")).toMatch(/^weft \S+ \(CNI .*1\.1\.0\)$/);
    for (const daemon of [[join(BIN_DIR, "weftd")], [join(dir, "weftd")], [WEFT_BIN, "daemon"], [WEFT_BIN, "weftd"]]) {
      expect(firstLine(daemon[0]!, ...daemon.slice(1), "--help"), daemon.join(" ")).toMatch(/^weftd: leases this node's pod subnet/);
    }
    for (const cli of [[join(BIN_DIR, "ipamctl")], [join(dir, "ipamctl")], [WEFT_BIN, "ipamctl"]]) {
      expect(firstLine(cli[0]!, ...cli.slice(1), "--help"), cli.join(" ")).toMatch(/^ipamctl: weft's subnet leases/);
    }
    // The subcommand is the role's, not an argument of it: weftd refuses what it does not know.
    const unknown = run(WEFT_BIN, "daemon", "--no-such-flag");
    expect(unknown.code).not.toBe(0);
    expect(unknown.err).toMatch(/Unknown arguments: such-flag/);
    expect(unknown.err).not.toMatch(/daemon/);
  });

  it("compiles only the role that runs, and keeps each role's code cache while it is valid", () => {
    cacheDir = mkdtempSync(join(dir, "cache-"));
    expect(run(WEFT_BIN, "--version").code).toBe(0);
    expect(readdirSync(cacheDir)).toEqual([]); // --version answers before any role's code

    expect(run(join(BIN_DIR, "weftd"), "--version").code).toBe(0);
    const daemonCache = readdirSync(cacheDir);
    expect(daemonCache).toEqual([expect.stringMatching(/^weftd-[0-9a-f]{16}\.jscache$/)]);
    const inode = statSync(join(cacheDir, daemonCache[0]!)).ino;
    // Accepted on the next start (weftd's V8 flags are set before its code is compiled): not written again.
    expect(run(WEFT_BIN, "daemon", "--version").code).toBe(0);
    expect(statSync(join(cacheDir, daemonCache[0]!)).ino).toBe(inode);

    expect(run(join(BIN_DIR, "ipamctl"), "--version").code).toBe(0);
    expect(readdirSync(cacheDir).sort()).toEqual([expect.stringMatching(/^ipamctl-[0-9a-f]{16}\.jscache$/), daemonCache[0]]);
  });
});
