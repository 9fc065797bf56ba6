// The connectivity matrix: real packets between lab namespaces, one cell per condition × protocol,
// each with pass/fail and latency. A cell that does not apply says why.
import { spawnSync } from "node:child_process";
import { PORTS, type ProbeResult } from "./agent.js";
import { SELF } from "./paths.js";
import { HOST_PORTS } from "./topology.js";
import type { LabPod, LabState } from "./state.js";

export const PROTOCOLS = ["ICMP", "TCP", "UDP", "HTTP"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface Cell {
  protocol: Protocol;
  ok?: boolean;
  ms?: number;
  /** Why the cell does not apply, or what went wrong. */
  note?: string;
}

export interface Row {
  condition: string;
  from: string;
  to: string;
  cells: Cell[];
}

function probe(netns: string, kind: "http" | "tcp" | "udp", host: string, port: number): ProbeResult {
  const r = spawnSync("nsenter", [`--net=/var/run/netns/${netns}`, process.execPath, SELF, "agent", "probe", kind, host, String(port)], { encoding: "utf8", timeout: 10_000 });
  try {
    return JSON.parse(r.stdout) as ProbeResult;
  } catch {
    return { ok: false, ms: 0, error: (r.stderr || "probe failed").trim().split("\n")[0] };
  }
}

function ping(netns: string, host: string): ProbeResult {
  const r = spawnSync("ip", ["netns", "exec", netns, "ping", "-c", "3", "-i", "0.2", "-W", "1", "-q", host], { encoding: "utf8", timeout: 10_000 });
  const avg = /= [\d.]+\/([\d.]+)\//.exec(r.stdout)?.[1];
  const received = /(\d+) received/.exec(r.stdout)?.[1];
  return { ok: r.status === 0 && received === "3", ms: avg ? Number(avg) : 0, ...(r.status === 0 ? {} : { error: r.stdout.split("\n").find((l) => l.includes("received")) ?? "no reply" }) };
}

const cell = (protocol: Protocol, r: ProbeResult, check?: (body: string) => string | undefined): Cell => {
  const problem = r.ok && check ? check(r.body ?? "") : undefined;
  const c: Cell = { protocol, ok: r.ok && !problem, ms: r.ms };
  if (problem ?? r.error) c.note = problem ?? r.error;
  return c;
};
const na = (protocol: Protocol, why: string): Cell => ({ protocol, note: why });

function sourceIs(expected: string): (body: string) => string | undefined {
  return (body) => {
    const client = (JSON.parse(body) as { client?: string }).client;
    return client === expected ? undefined : `destination saw source ${client}, expected ${expected}`;
  };
}

function answeredBy(name: string): (body: string) => string | undefined {
  return (body) => ((JSON.parse(body) as { name?: string }).name === name ? undefined : `answered by ${body}, expected ${name}`);
}

function podToPod(condition: string, a: LabPod, b: LabPod): Row {
  return {
    condition,
    from: a.name,
    to: `${b.name} (${b.ip})`,
    cells: [
      cell("ICMP", ping(a.netns, b.ip)),
      cell("TCP", probe(a.netns, "tcp", b.ip, PORTS.tcp)),
      cell("UDP", probe(a.netns, "udp", b.ip, PORTS.udp)),
      // pod → pod is never masqueraded: the destination sees the source pod's own address
      cell("HTTP", probe(a.netns, "http", b.ip, PORTS.http), sourceIs(a.ip)),
    ],
  };
}

export function runMatrix(state: LabState): Row[] {
  const rows: Row[] = [];
  const [n1, n2] = state.nodes;
  const p11 = n1?.pods[0];
  const p12 = n1?.pods[1];
  const p21 = n2?.pods[0];
  if (p11 && p12) rows.push(podToPod("pod → pod, same node", p11, p12));
  if (p11 && p21) rows.push(podToPod(`pod → pod, across nodes (${state.options.directRouting ? "DirectRouting" : "VXLAN"})`, p11, p21));
  for (const node of state.nodes.slice(2)) if (p11 && node.pods[0]) rows.push(podToPod(`pod → pod, across nodes`, p11, node.pods[0]));
  const wan = state.wan;
  if (wan && p11 && n1) {
    rows.push({
      condition: "pod → wan (masqueraded)",
      from: p11.name,
      to: `wan ${wan.ip}`,
      cells: [
        cell("ICMP", ping(p11.netns, wan.ip)),
        na("TCP", "covered by HTTP"),
        na("UDP", "the wan host serves HTTP only"),
        state.options.ipMasq ? cell("HTTP", probe(p11.netns, "http", wan.ip, 80), sourceIs(n1.underlayIp)) : na("HTTP", "lab is up without --ip-masq"),
      ],
    });
    rows.push({
      condition: "wan → pod (hostPort)",
      from: "wan",
      to: `${n1.underlayIp}:${HOST_PORTS.http}… → ${p11.name}`,
      cells: [
        na("ICMP", "a hostPort maps ports, not an address"),
        cell("TCP", probe(wan.netns, "tcp", n1.underlayIp, HOST_PORTS.tcp)),
        cell("UDP", probe(wan.netns, "udp", n1.underlayIp, HOST_PORTS.udp), answeredBy(p11.name)),
        cell("HTTP", probe(wan.netns, "http", n1.underlayIp, HOST_PORTS.http), answeredBy(p11.name)),
      ],
    });
  }
  return rows;
}

export function matrixPassed(rows: Row[]): boolean {
  return rows.every((r) => r.cells.every((c) => c.ok !== false));
}

export function formatMatrix(rows: Row[]): string {
  const w0 = Math.max(...rows.map((r) => r.condition.length), 9);
  const w1 = Math.max(...rows.map((r) => `${r.from} → ${r.to}`.length), 4);
  const fmt = (c: Cell): string => (c.ok === undefined ? "  n/a    " : `${c.ok ? "✓" : "✗"} ${(c.ms ?? 0).toFixed(2).padStart(6)}ms`.padEnd(10));
  const lines = [`${"condition".padEnd(w0)}  ${"path".padEnd(w1)}  ${PROTOCOLS.map((p) => p.padEnd(10)).join(" ")}`];
  for (const r of rows) lines.push(`${r.condition.padEnd(w0)}  ${`${r.from} → ${r.to}`.padEnd(w1)}  ${r.cells.map(fmt).join(" ")}`);
  const notes = rows.flatMap((r) => r.cells.filter((c) => c.ok === false).map((c) => `  ✗ ${r.condition}, ${c.protocol}: ${c.note ?? "failed"}`));
  return [...lines, ...(notes.length ? ["", ...notes] : [])].join("\n");
}
