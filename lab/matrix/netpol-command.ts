// `weft-lab netpol`'s options and what they run: the model's truth tables probed once (with an
// expectation file or without), a replay of cases of policy steps (netpol-replay.ts), or the model
// removed. The handler answers the exit status: 1 when a table or a step is not the one expected.
import { readFileSync } from "node:fs";
import type { LabState } from "../cluster/state.js";
import { parseDuration } from "../containers/agnhost-args.js";
import { cleanModel, formatNetpol, netpolPassed, runNetpol, type IpFamily } from "./netpol.js";
import type { NetpolProtocol } from "./netpol-model.js";
import { replayCases, type ReplayCase } from "./netpol-replay.js";
import type { Grid } from "./truth-table.js";
import type { NetpolArgs } from "./netpol-options.js";

export async function netpolCommand(state: LabState, a: NetpolArgs): Promise<number> {
  if (a.clean) {
    const removed = await cleanModel(state);
    console.log(removed.length ? `deleted namespaces ${removed.join(", ")}` : "no policy model to remove");
    return 0;
  }
  const families: IpFamily[] | undefined = a.family ? (a.family === "both" ? [4, 6] : [Number(a.family) as IpFamily]) : undefined;
  const timeoutMs = parseDuration(a.timeout);
  if (a.replay) {
    const cases = JSON.parse(readFileSync(a.replay, "utf8")) as ReplayCase[];
    const say = (c: string, i: number, r: { passed: boolean; rounds: number; ms: number }): void => {
      if (!a.json) console.log(`${r.passed ? "ok  " : "FAIL"} ${c}, step ${i + 1}: ${r.rounds} round(s), ${r.ms} ms`);
    };
    const results = await replayCases(state, cases, { ...(families ? { families } : {}), timeoutMs, deadlineMs: parseDuration(a.deadline) }, say);
    if (a.json) console.log(JSON.stringify(results, null, 2));
    return results.every((c) => c.steps.length === cases.find((x) => x.name === c.name)?.steps.length && c.steps.every((s) => s.passed)) ? 0 : 1;
  }
  const protocols = a.protocols.split(",").map((p) => p.trim().toUpperCase());
  const bad = protocols.filter((p) => !["TCP", "UDP", "SCTP"].includes(p));
  if (bad.length) throw new Error(`--protocols: "${bad.join(", ")}" is not tcp, udp or sctp`);
  const ports = a.ports.split(",").map(Number);
  if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) throw new Error(`--ports: "${a.ports}" is not a list of ports`);
  const expect = a.expect ? (JSON.parse(readFileSync(a.expect, "utf8")) as Record<string, Grid>) : undefined;
  const r = await runNetpol(state, { ports, protocols: protocols as NetpolProtocol[], via: a.via, timeoutMs, ...(expect ? { expect } : {}), ...(families ? { families } : {}) });
  console.log(a.json ? JSON.stringify(r, null, 2) : formatNetpol(r));
  return netpolPassed(r) ? 0 : 1;
}
