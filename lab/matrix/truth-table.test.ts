import { describe, expect, it } from "vitest";
import { expectedFor, formatProbedTable, prettyPrint, sideBySide, summarize, uniformGrid, type Grid } from "./truth-table.js";

const pods = ["x/a", "x/b", "y/a"];
const deniedToXa = (): Grid => {
  const g = uniformGrid(pods, true);
  for (const f of pods) g[f]!["x/a"] = false;
  return g;
};

describe("the policy truth table", () => {
  it("prints as upstream's PrettyPrint: a '-' corner, tab-separated, '.' connected, 'X' not, '?' unobserved", () => {
    const g = deniedToXa();
    delete g["y/a"]!["y/a"];
    expect(prettyPrint(pods, g)).toBe(["-\tx/a\tx/b\ty/a", "x/a\tX\t.\t.", "x/b\tX\t.\t.", "y/a\tX\t.\t?"].join("\n"));
    expect(prettyPrint(["x/a"], { "x/a": { "x/a": true } }, "  ")).toBe("  -\tx/a\n  x/a\t.");
  });

  it("summarizes as upstream's Reachability.Summary: loopback ignored, each disagreement named", () => {
    const observed = deniedToXa();
    observed["x/a"]!["x/a"] = true; // a pod to itself: never counted
    observed["y/a"]!["x/a"] = true; // a real disagreement
    const s = summarize(pods, deniedToXa(), observed);
    expect({ correct: s.correct, incorrect: s.incorrect, ignored: s.ignored }).toEqual({ correct: 5, incorrect: 1, ignored: 3 });
    expect(s.wrong).toEqual(["y/a → x/a: expected X, observed ."]);
    expect(s.comparison["y/a"]).toEqual({ "x/a": false, "x/b": true, "y/a": true });
    expect(s.comparison["x/a"]!["x/a"]).toBe(false);
  });

  it("puts expected, observed and comparison side by side in aligned columns", () => {
    const text = sideBySide(pods, [
      { title: "expected", grid: deniedToXa() },
      { title: "observed", grid: uniformGrid(pods, true) },
    ]);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^expected\s+observed$/);
    expect(lines[1]).toBe("-   x/a x/b y/a     -   x/a x/b y/a");
    expect(lines[2]).toBe("x/a X   .   .       x/a .   .   .");
  });

  it("formats a probed table alone, or with its expectation, counts and the wrong cells", () => {
    expect(formatProbedTable(pods, { protocol: "TCP", port: 80, observed: uniformGrid(pods, true) }).split("\n")[0]).toBe("TCP/80");
    const text = formatProbedTable(pods, { protocol: "UDP", port: 81, observed: uniformGrid(pods, true), expected: deniedToXa() });
    expect(text).toMatch(/^UDP\/81 {2}reachability: correct:4, incorrect:2, result=false \(3 pod → itself ignored\)/);
    expect(text).toContain("✗ x/b → x/a: expected X, observed .");
    expect(formatProbedTable(pods, { protocol: "TCP", port: 80, observed: deniedToXa(), expected: deniedToXa() })).toMatch(/result=true/);
  });

  it("finds an expectation by protocol and port, else the catch-all", () => {
    const all = uniformGrid(pods, true);
    const tcp80 = deniedToXa();
    expect(expectedFor({ "TCP/80": tcp80, "*": all }, "tcp", 80)).toBe(tcp80);
    expect(expectedFor({ "TCP/80": tcp80, "*": all }, "UDP", 80)).toBe(all);
    expect(expectedFor({ "TCP/80": tcp80 }, "UDP", 80)).toBeUndefined();
  });
});
