// The entry point of a truth-table row's prober (dist/lab/netpol-row.cjs), run inside the source pod's
// network namespace: a bundle of its own, ~50 ms to start against ~170 ms for the whole lab CLI. Given
// a job as its argument it probes that row and exits; with --serve it takes one job per line on stdin
// and answers one line of results each, until stdin ends (row-probers.ts keeps it for many rounds).
import { createInterface } from "node:readline";
import { probeNetpolRow, type RowJob } from "./netpol-row.js";

const fail = (err: unknown): void => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
};

if (process.argv[2] === "--serve") {
  // One job at a time, in order: the answers go back in the order the jobs came.
  let queue = Promise.resolve();
  createInterface({ input: process.stdin }).on("line", (line) => {
    queue = queue.then(async () => {
      // Every job gets its line, a failure too (as {"error": …}): the pool waits for one per job.
      const answer = await probeNetpolRow(JSON.parse(line) as RowJob).catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }));
      process.stdout.write(`${JSON.stringify(answer)}\n`);
    });
  });
} else {
  probeNetpolRow(JSON.parse(process.argv[2] ?? "{}") as RowJob).then((results) => console.log(JSON.stringify(results)), fail);
}
