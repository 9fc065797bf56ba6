// Test fixture (imported only by tests): `nft -c -f`, which parses a ruleset and validates it against the
// running kernel without committing it — where this process may (root, nft installed).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

export const canNftCheck = ((): boolean => {
  try {
    execFileSync("nft", ["-c", "-f", "/dev/null"], { stdio: "pipe" });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
})();

/** A checker whose scratch files go when the test file ends: throws with nft's message and the script when nft rejects it. */
export function nftChecker(): (script: string, name: string) => void {
  const dir = mkdtempSync(join(tmpdir(), "weft-nft-check-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return (script, name) => {
    const file = join(dir, name);
    writeFileSync(file, script);
    try {
      execFileSync("nft", ["-c", "-f", file], { stdio: "pipe" });
    } catch (err) {
      throw new Error(`nft -c rejected ${name}: ${(err as { stderr?: Buffer }).stderr?.toString() ?? String(err)}\n${script}`);
    }
  };
}
