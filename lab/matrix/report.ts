// `weft-lab report`: one self-contained HTML page (no external file, font or script) with the lab's
// topology drawn as SVG, the connectivity matrix as a colour grid with latencies, and the lease table.
// A small inline script only adds a summary line, so a page rendered without errors says so.
import { crossNodeMode, underlaySummary } from "../cluster/addressing.js";
import type { Row } from "./matrix.js";
import { PROTOCOLS } from "./probes.js";
import type { LabState } from "../cluster/state.js";

/** A row of `ipamctl leases -o json`: the IPv4 part's fields at the top, the IPv6 part in `ipv6`. */
export interface Lease {
  subnet?: string;
  publicIp?: string;
  vtepMac?: string;
  ipv6?: { subnet: string; publicIp: string; vtepMac: string };
  expiresInS: number;
  pods: number;
}

const esc = (s: string | number | undefined): string => String(s ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function topologySvg(state: LabState): string {
  const nodes = state.nodes;
  const boxW = 230;
  const gap = 30;
  const podH = 18;
  const maxPods = Math.max(1, ...nodes.map((n) => n.pods.length));
  const boxH = 92 + maxPods * podH;
  const width = Math.max(820, 40 + nodes.length * (boxW + gap));
  const busY = 150;
  const nodeY = 230;
  const height = nodeY + boxH + 70;
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="lab topology">`];
  const box = (x: number, y: number, w: number, h: number, cls: string, lines: string[], id: string): void => {
    out.push(`<g class="${cls}" data-id="${esc(id)}"><rect x="${x}" y="${y}" width="${w}" height="${h}" rx="8"/>`);
    lines.forEach((l, i) => out.push(`<text x="${x + 10}" y="${y + 20 + i * 17}"${i === 0 ? ' class="title"' : ""}>${esc(l)}</text>`));
    out.push("</g>");
  };
  // etcd, router and wan above the underlay.
  if (state.etcd) {
    box(20, 20, 230, 70, "host etcd", ["etcd", state.etcd.endpoint, `netns ${state.etcd.netns}`], "etcd");
    out.push(`<line class="wire" x1="135" y1="90" x2="135" y2="${busY}"/>`);
  }
  const rx = width - 500;
  const underlay = underlaySummary(state);
  box(rx, 20, 220, 70, "host router", ["router", `${underlay.router} ↔ ${underlay.wan}`, "forwards underlay ↔ wan"], "router");
  out.push(`<line class="wire" x1="${rx + 110}" y1="90" x2="${rx + 110}" y2="${busY}"/>`);
  if (state.wan) {
    box(width - 250, 20, 230, 70, "host wan", ["wan (the internet)", state.wan.ip, `netns ${state.wan.netns}`], "wan");
    out.push(`<line class="wire" x1="${rx + 220}" y1="55" x2="${width - 250}" y2="55"/>`);
  }
  out.push(`<line class="bus" x1="10" y1="${busY}" x2="${width - 10}" y2="${busY}"/><text class="label" x="20" y="${busY - 8}">underlay ${esc(underlay.networks)} (fabric bridge)</text>`);
  nodes.forEach((n, i) => {
    const x = 20 + i * (boxW + gap);
    out.push(`<line class="wire" x1="${x + boxW / 2}" y1="${busY}" x2="${x + boxW / 2}" y2="${nodeY}"/>`);
    const lines = [n.name, `underlay ${n.underlayIp}`, `subnet ${n.subnet ?? "?"}`, `weftd pid ${n.weftdPid ?? "-"}`];
    box(x, nodeY, boxW, boxH, "node", lines, n.name);
    n.pods.forEach((p, j) => out.push(`<g class="pod" data-id="${esc(p.name)}"><rect x="${x + 10}" y="${nodeY + 80 + j * podH}" width="${boxW - 20}" height="${podH - 3}" rx="3"/><text x="${x + 16}" y="${nodeY + 92 + j * podH}">${esc(p.name)} ${esc(p.ip)}</text></g>`));
  });
  // The overlay: every node reaches every other (drawn between neighbours to keep the picture readable).
  const mode = crossNodeMode(state.options);
  for (let i = 0; i + 1 < nodes.length; i++) {
    const x1 = 20 + i * (boxW + gap) + boxW / 2;
    const x2 = x1 + boxW + gap;
    const y = nodeY + boxH;
    out.push(`<path class="overlay" d="M ${x1} ${y} C ${x1} ${y + 45}, ${x2} ${y + 45}, ${x2} ${y}"/>`);
  }
  if (nodes.length > 1) out.push(`<text class="label" x="20" y="${height - 10}">pod traffic between nodes: ${esc(mode)} (dashed)</text>`);
  out.push("</svg>");
  return out.join("\n");
}

function matrixTable(rows: Row[]): string {
  const head = `<tr><th>condition</th><th>path</th>${PROTOCOLS.map((p) => `<th>${esc(p)}</th>`).join("")}</tr>`;
  const body = rows.map((r) => {
    const cells = r.cells.map((c) => {
      const cls = c.ok === undefined ? "na" : c.ok ? "pass" : "fail";
      const text = c.ok === undefined ? "n/a" : `${c.ok ? "✓" : "✗"} ${(c.ms ?? 0).toFixed(2)} ms${c.mbps ? `<br><small>${Math.round(c.mbps)} Mbit/s</small>` : ""}`;
      return `<td class="cell ${cls}" data-protocol="${esc(c.protocol)}" title="${esc(c.note ?? "")}">${text}</td>`;
    });
    return `<tr data-condition="${esc(r.condition)}"><th>${esc(r.condition)}</th><td class="path">${esc(r.from)} → ${esc(r.to)}</td>${cells.join("")}</tr>`;
  });
  return `<table class="matrix">${head}${body.join("\n")}</table>`;
}

function leaseTable(leases: Lease[]): string {
  // Each family's part of a lease on a line of its own cell: IPv4 first.
  const cell = (pick: (p: { subnet: string; publicIp: string; vtepMac: string }) => string, code = false): ((l: Lease) => string) => (l) =>
    [l.subnet ? { subnet: l.subnet, publicIp: l.publicIp ?? "", vtepMac: l.vtepMac ?? "" } : undefined, l.ipv6].flatMap((p) => (p ? [code ? `<code>${esc(pick(p))}</code>` : esc(pick(p))] : [])).join("<br>");
  const [subnet, ip, mac] = [cell((p) => p.subnet), cell((p) => p.publicIp), cell((p) => p.vtepMac, true)];
  const rows = leases.map((l) => `<tr><td>${subnet(l)}</td><td>${ip(l)}</td><td>${mac(l)}</td><td>${esc(Math.round(l.expiresInS / 60))} min</td><td>${esc(l.pods)}</td></tr>`);
  return `<table class="leases"><tr><th>subnet</th><th>public IP</th><th>VTEP MAC</th><th>expires in</th><th>pod addresses</th></tr>${rows.join("\n")}</table>`;
}

const CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d232a}h1{font-size:22px}h2{font-size:17px;margin-top:28px}
svg rect{fill:#f4f6f8;stroke:#5b6773}svg .node rect{fill:#e8f1fb;stroke:#2f6db3}svg .pod rect{fill:#fff;stroke:#8aa9cc}svg .host rect{fill:#f6f1e7;stroke:#9a7b3c}
svg text{font:12px ui-monospace,monospace;fill:#1d232a}svg text.title{font-weight:700}svg .label{fill:#5b6773}svg .bus{stroke:#1d232a;stroke-width:4}svg .wire{stroke:#5b6773;stroke-width:1.5}
svg .overlay{fill:none;stroke:#2f6db3;stroke-width:2;stroke-dasharray:6 4}table{border-collapse:collapse;margin-top:8px}th,td{border:1px solid #c9d1d9;padding:4px 8px;text-align:left;vertical-align:top}
td.cell{text-align:center;min-width:74px;font:12px ui-monospace,monospace}td.pass{background:#d5f5dc}td.fail{background:#ffd6d6;font-weight:700}td.na{background:#eef0f2;color:#8a949e}td.path{font:12px ui-monospace,monospace;color:#4a545e}
.summary{font-weight:700}.summary.bad{color:#b3261e}.summary.good{color:#1b7f3b}`;

/** `sections`: more HTML sections (the policy truth tables when the model is up), placed before the leases. */
export function renderReport(state: LabState, rows: Row[], leases: Lease[], generatedAt: Date, sections = ""): string {
  const applicable = rows.flatMap((r) => r.cells).filter((c) => c.ok !== undefined);
  const failed = applicable.filter((c) => !c.ok).length;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>weft lab report</title><style>${CSS}</style></head>
<body>
<h1>weft lab: ${esc(state.nodes.length)} nodes, ${esc(state.nodes.reduce((n, x) => n + x.pods.length, 0))} pods</h1>
<p>Generated ${esc(generatedAt.toISOString())}. Every cell below is real traffic between the lab's namespaces; hover a cell for its notes.</p>
<p id="summary" class="summary" data-applicable="${applicable.length}" data-failed="${failed}"></p>
<h2>Topology</h2>
${topologySvg(state)}
<h2>Connectivity matrix</h2>
${matrixTable(rows)}
${sections}
<h2>Subnet leases (etcd)</h2>
${leaseTable(leases)}
<script>
(() => {
  const cells = document.querySelectorAll("td.cell");
  const failed = document.querySelectorAll("td.cell.fail").length;
  const applicable = cells.length - document.querySelectorAll("td.cell.na").length;
  const s = document.getElementById("summary");
  s.textContent = failed ? failed + " of " + applicable + " applicable cells FAILED" : "all " + applicable + " applicable cells passed";
  s.classList.add(failed ? "bad" : "good");
})();
</script>
</body></html>
`;
}
