import { describe, expect, it } from "vitest";
import { netpolSection } from "./netpol-report.js";
import type { NetpolResult } from "./netpol.js";
import { uniformGrid } from "./truth-table.js";

const keys = ["x/a", "x/b"];
const pods = keys.map((key, i) => ({ key, node: `node${i + 1}`, ip: `10.244.${i + 1}.2`, ips: [`10.244.${i + 1}.2`], netns: `lab-${key.replace("/", ".")}` }));

describe("the report's policy section", () => {
  it("draws one grid per port and protocol, denied cells marked, the pod → itself cell set apart", () => {
    const denied = uniformGrid(keys, true);
    denied["x/b"]!["x/a"] = false;
    const r: NetpolResult = { pods, via: "pod", buildMs: 0, probeMs: 1234, tables: [{ family: 4, protocol: "TCP", port: 80, observed: denied }, { family: 4, protocol: "UDP", port: 81, observed: uniformGrid(keys, true) }] };
    const html = netpolSection(r);
    expect(html.match(/<table class="netpol"/g)).toHaveLength(2);
    expect(html).toContain('data-table="TCP/80"');
    expect(html).toContain('<td class="deny" title="x/b → x/a TCP/80">X</td>');
    expect(html).toContain('<td class="allow self" title="x/a → x/a TCP/80">.</td>');
    expect(html).toMatch(/1 pod → other pod cells denied; probed in 1234 ms/);
  });
});
