// DirectRouting on the lab: nodes on one L2 network route pod subnets straight over the underlay (no
// VXLAN entries), and pods still reach each other with their own addresses.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ipJson } from "../helpers/netns.js";

const LAB = resolve(import.meta.dirname, "../../dist/lab/weft-lab.cjs");
const stateDir = mkdtempSync(join(tmpdir(), "weft-lab-dr-"));
const env = { ...process.env, WEFT_LAB_STATE_DIR: stateDir, WEFT_LAB_PREFIX: `wr${process.pid % 10000}-` };
const lab = (...args: string[]) => spawnSync(process.execPath, [LAB, ...args], { env, encoding: "utf8", timeout: 120_000 });

beforeAll(() => {
  if (!existsSync(LAB)) throw new Error(`${LAB} is missing: run npm run build first`);
  const r = lab("up", "--nodes", "2", "--pods-per-node", "1", "--direct-routing");
  if (r.status !== 0) throw new Error(`lab up failed: ${r.stderr}`);
}, 120_000);

afterAll(() => {
  lab("down");
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

describe("DirectRouting", () => {
  it("routes the other node's subnet via its underlay address, with no ARP/FDB on the VXLAN device, and pods talk", () => {
    const s = JSON.parse(lab("status", "--json").stdout) as { nodes: { netns: string; underlayIp: string; subnet: string; pods: { netns: string; ip: string }[] }[] };
    const [n1, n2] = s.nodes;
    const remote = n2!.subnet.replace(/\.1\/24$/, ".0/24");
    expect(ipJson<{ dst: string; gateway: string; dev: string }[]>(n1!.netns, ["route", "show", remote])).toEqual([expect.objectContaining({ dst: remote, gateway: n2!.underlayIp, dev: "eth0" })]);
    expect(ipJson<unknown[]>(n1!.netns, ["neigh", "show", "dev", "weft.1"])).toEqual([]);
    const r = lab("matrix", "--json");
    const rows = JSON.parse(r.stdout) as { condition: string; cells: { protocol: string; ok?: boolean }[] }[];
    const cross = rows.find((x) => x.condition === "pod → pod, across nodes (DirectRouting)");
    expect(cross?.cells.filter((c) => c.ok !== undefined).every((c) => c.ok)).toBe(true);
    expect(cross?.cells.filter((c) => c.ok).length).toBe(4);
  });
});
