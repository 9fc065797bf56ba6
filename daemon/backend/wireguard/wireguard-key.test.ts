import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadOrCreateKey, publicKeyOf } from "./wireguard-key.js";

const dir = mkdtempSync(join(tmpdir(), "weft-wgkey-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the node's WireGuard key", () => {
  it("is made once (0400, in a 0700 directory) and read back the same at every start", () => {
    const file = join(dir, "state", "wireguard.key");
    const made = loadOrCreateKey(file);
    expect(made.created).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o400);
    expect(statSync(join(dir, "state")).mode & 0o777).toBe(0o700);
    expect(readFileSync(file, "utf8").trim()).toBe(made.privateKey);
    expect(loadOrCreateKey(file)).toEqual({ ...made, created: false });
  });

  it("derives the public key `wg pubkey` derives", () => {
    const priv = spawnSync("wg", ["genkey"], { encoding: "utf8" }).stdout.trim();
    const pub = spawnSync("wg", ["pubkey"], { input: priv, encoding: "utf8" }).stdout.trim();
    expect(pub).toMatch(/=$/);
    expect(publicKeyOf(priv)).toBe(pub);
  });

  it("refuses a damaged key file rather than replacing it (a new key would cut the node off from its peers)", () => {
    const file = join(dir, "damaged.key");
    writeFileSync(file, "not a key\n");
    expect(() => loadOrCreateKey(file)).toThrow(/damaged.key: does not hold a WireGuard private key .* restore it, or remove it to make a new one/);
    expect(readFileSync(file, "utf8")).toBe("not a key\n");
  });
});
