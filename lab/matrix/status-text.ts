// `weft-lab status` in the terminal: the topology the report draws, as text — etcd, router and wan on
// the underlay, each node as a box with its subnet and pods, and how pod traffic crosses between nodes.
import { crossNodeMode, underlaySummary } from "../cluster/addressing.js";
import type { LabNode, LabState } from "../cluster/state.js";

const BOX = 34;
const PER_LINE = 3;

function nodeBox(n: LabNode): string[] {
  const inner = BOX - 4;
  const fit = (s: string): string => (s.length > inner ? `${s.slice(0, inner - 1)}…` : s.padEnd(inner));
  const title = `─ ${n.name} `;
  const lines = [`┌${title}${"─".repeat(BOX - 2 - title.length)}┐`];
  for (const l of [`underlay ${n.underlayIp}`, ...(n.underlayIp6 ? [`         ${n.underlayIp6}`] : []), `subnet   ${n.subnet ?? "?"}`, `weftd    pid ${n.weftdPid ?? "-"}`, `netns    ${n.netns}`]) lines.push(`│ ${fit(l)} │`);
  if (n.pods.length) lines.push(`│ ${"pods:".padEnd(inner)} │`);
  for (const p of n.pods) lines.push(`│ ${fit(` ${p.name} ${p.ip}${p.hostPort ? ` hostPort ${p.hostPort}` : ""}`)} │`);
  lines.push(`└${"─".repeat(BOX - 2)}┘`);
  return lines;
}

export function statusText(s: LabState): string {
  const underlay = underlaySummary(s);
  const out = [
    `  etcd ${s.etcd?.endpoint ?? "-"} (netns ${s.etcd?.netns ?? "-"})      router ${underlay.router} ── wan ${s.wan?.ip ?? "-"} (netns ${s.wan?.netns ?? "-"})`,
    "   │                                                  │",
    `═══╧═══════════ underlay ${underlay.networks} (fabric) ════╧════${"═".repeat(Math.max(0, Math.min(s.nodes.length, PER_LINE) * (BOX + 2) - 62))}`,
  ];
  for (let i = 0; i < s.nodes.length; i += PER_LINE) {
    const group = s.nodes.slice(i, i + PER_LINE).map(nodeBox);
    const height = Math.max(...group.map((b) => b.length));
    out.push(group.map(() => `${" ".repeat(BOX / 2)}│${" ".repeat(BOX / 2 + 1)}`).join("").trimEnd());
    for (let row = 0; row < height; row++) out.push(group.map((b) => (b[row] ?? " ".repeat(BOX)).padEnd(BOX + 2)).join("").trimEnd());
  }
  if (s.nodes.length > 1) out.push("", `pod traffic between nodes: ${crossNodeMode(s.options)} to every other node`);
  return out.join("\n");
}
