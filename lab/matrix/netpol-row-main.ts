// The entry point of one truth-table row's prober (dist/lab/netpol-row.cjs), run inside the source
// pod's network namespace: a bundle of its own, ~50 ms to start against ~170 ms for the whole lab
// CLI, as nine start for every table probed.
import { probeNetpolRow, type RowJob } from "./netpol-row.js";

probeNetpolRow(JSON.parse(process.argv[2] ?? "{}") as RowJob).then(
  (results) => console.log(JSON.stringify(results)),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
