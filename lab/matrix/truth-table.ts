// The NetworkPolicy truth table as the upstream suite keeps and prints it (kubernetes
// test/e2e/network/netpol: truthtable.go, reachability.go): rows are the sources, columns the
// destinations, "." connected, "X" not, "?" not observed; a comparison marks "." where expected and
// observed agree. Pure: cells in, text out.

/** from → to → connected, keyed by "namespace/pod". */
export type Grid = Record<string, Record<string, boolean>>;

export interface Summary {
  correct: number;
  incorrect: number;
  /** Pod → itself: never judged (upstream: loopback is not defined by the API). */
  ignored: number;
  /** true where expected and observed agree. */
  comparison: Grid;
  /** "x/a → y/b: expected X, observed ." for each disagreement, loopback left out. */
  wrong: string[];
}

const mark = (v: boolean | undefined): string => (v === undefined ? "?" : v ? "." : "X");

/** The table's cells as rows of text: a header ("-" then the destinations), then one row per source. */
export function tableCells(pods: readonly string[], grid: Grid): string[][] {
  return [["-", ...pods], ...pods.map((from) => [from, ...pods.map((to) => mark(grid[from]?.[to]))])];
}

/** As upstream's TruthTable.PrettyPrint: tab-separated, each line behind `indent`. */
export function prettyPrint(pods: readonly string[], grid: Grid, indent = ""): string {
  return tableCells(pods, grid)
    .map((row) => indent + row.join("\t"))
    .join("\n");
}

/** As upstream's Reachability.Summary: the comparison and its counts, loopback ignored. */
export function summarize(pods: readonly string[], expected: Grid, observed: Grid): Summary {
  const s: Summary = { correct: 0, incorrect: 0, ignored: 0, comparison: {}, wrong: [] };
  for (const from of pods) {
    const row: Record<string, boolean> = {};
    for (const to of pods) {
      const want = expected[from]?.[to];
      const got = observed[from]?.[to];
      row[to] = want === got;
      if (from === to) s.ignored++;
      else if (want === got) s.correct++;
      else {
        s.incorrect++;
        s.wrong.push(`${from} → ${to}: expected ${mark(want)}, observed ${mark(got)}`);
      }
    }
    s.comparison[from] = row;
  }
  return s;
}

/** Tables next to each other, each under its title, padded to columns (tabs do not line up side by side). */
export function sideBySide(pods: readonly string[], tables: { title: string; grid: Grid }[], gap = "    "): string {
  const width = Math.max(2, ...pods.map((p) => p.length)) + 1;
  const blocks = tables.map((t) => [t.title, ...tableCells(pods, t.grid).map((row) => row.map((c) => c.padEnd(width)).join("").trimEnd())]);
  const blockWidth = (pods.length + 1) * width;
  const height = Math.max(...blocks.map((b) => b.length));
  const lines: string[] = [];
  for (let i = 0; i < height; i++) lines.push(blocks.map((b) => (b[i] ?? "").padEnd(blockWidth)).join(gap).trimEnd());
  return lines.join("\n");
}

export interface ProbedTable {
  protocol: string;
  port: number;
  /** Named in the title when given (a dual-stack probe has a table per family). */
  family?: number;
  observed: Grid;
  expected?: Grid;
}

/**
 * One probed port and protocol as the upstream suite logs it: the observed table alone, or with an
 * expectation the counts line ("reachability: correct:…, incorrect:…, result=…") and expected,
 * observed and comparison beside each other.
 */
export function formatProbedTable(pods: readonly string[], t: ProbedTable): string {
  const title = `${t.protocol}/${t.port}${t.family ? ` IPv${t.family}` : ""}`;
  if (!t.expected) return `${title}\n${prettyPrint(pods, t.observed)}`;
  const s = summarize(pods, t.expected, t.observed);
  const head = `${title}  reachability: correct:${s.correct}, incorrect:${s.incorrect}, result=${s.incorrect === 0}${s.ignored ? ` (${s.ignored} pod → itself ignored)` : ""}`;
  const body = sideBySide(pods, [
    { title: "expected", grid: t.expected },
    { title: "observed", grid: t.observed },
    { title: "comparison", grid: s.comparison },
  ]);
  return [head, body, ...s.wrong.map((w) => `  ✗ ${w}`)].join("\n");
}

/** An expectation file's table for one port and protocol: its "TCP/80" entry, else its "*" entry. */
export function expectedFor(expect: Record<string, Grid>, protocol: string, port: number): Grid | undefined {
  return expect[`${protocol.toUpperCase()}/${port}`] ?? expect["*"];
}

/** A grid with every pair set to `value`. */
export function uniformGrid(pods: readonly string[], value: boolean): Grid {
  return Object.fromEntries(pods.map((f) => [f, Object.fromEntries(pods.map((t) => [t, value]))]));
}
