// The report page's policy section: when the upstream policy model is in the lab (weft-lab netpol),
// its truth tables as probed now, one small grid per port and protocol, in the upstream layout
// (rows from, columns to; "." connected, "X" not).
import type { NetpolResult } from "./netpol.js";

const esc = (s: string | number): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const CSS = `table.netpol{display:inline-table;margin:0 18px 12px 0}table.netpol td,table.netpol th{font:12px ui-monospace,monospace;text-align:center;padding:2px 6px}
table.netpol td.allow{background:#d5f5dc}table.netpol td.deny{background:#ffd6d6;font-weight:700}table.netpol td.self{opacity:.55}table.netpol caption{font-weight:700;text-align:left}`;

function grid(r: NetpolResult, t: NetpolResult["tables"][number]): string {
  const keys = r.pods.map((p) => p.key);
  const head = `<tr><th>-</th>${keys.map((k) => `<th>${esc(k)}</th>`).join("")}</tr>`;
  const rows = keys.map((from) => {
    const cells = keys.map((to) => {
      const ok = t.observed[from]?.[to];
      const cls = `${ok === undefined ? "" : ok ? "allow" : "deny"}${from === to ? " self" : ""}`;
      return `<td class="${cls}" title="${esc(`${from} → ${to} ${t.protocol}/${t.port}`)}">${ok === undefined ? "?" : ok ? "." : "X"}</td>`;
    });
    return `<tr><th>${esc(from)}</th>${cells.join("")}</tr>`;
  });
  return `<table class="netpol" data-table="${esc(`${t.protocol}/${t.port}`)}"><caption>${esc(`${t.protocol}/${t.port}`)}</caption>${head}${rows.join("")}</table>`;
}

export function netpolSection(r: NetpolResult): string {
  const denied = r.tables.reduce((n, t) => n + Object.entries(t.observed).reduce((m, [from, row]) => m + Object.entries(row).filter(([to, ok]) => to !== from && !ok).length, 0), 0);
  return `<h2>NetworkPolicy truth tables</h2>
<style>${CSS}</style>
<p>The upstream policy model (namespaces x, y, z; pods a, b, c), every pair probed with agnhost connect from inside the source pod to ${r.via === "service" ? "the destination's Service" : "the destination pod's address"}: rows from, columns to; <code>.</code> connected, <code>X</code> not. ${esc(denied)} pod → other pod cells denied; probed in ${esc(r.probeMs)} ms.</p>
${r.tables.map((t) => grid(r, t)).join("\n")}`;
}
