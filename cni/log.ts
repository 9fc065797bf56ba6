// The plugin's log: one JSON line per event, appended to the conflist's logFile. stdout belongs to
// the CNI result alone, so nothing is ever printed there.
import { appendFileSync } from "node:fs";
import { isoTimestamp } from "../ipam/timestamp.js";

export type LogFields = Record<string, unknown>;

export class PluginLog {
  private readonly fields: LogFields = {};
  private readonly started = process.hrtime.bigint();
  /** Milliseconds since start at each named step, written with the final line: where did the time go. */
  readonly steps: Record<string, number> = {};

  constructor(private readonly file: string | undefined) {}

  with(fields: LogFields): void {
    Object.assign(this.fields, fields);
  }

  private write(level: string, msg: string, extra: LogFields): void {
    if (!this.file) return;
    try {
      appendFileSync(this.file, `${JSON.stringify({ time: isoTimestamp(), level, msg, ...this.fields, ...extra })}\n`);
    } catch {
      // A log that cannot be written must not fail the pod's network set-up.
    }
  }

  mark(step: string): void {
    this.steps[step] = Math.round(Number(process.hrtime.bigint() - this.started) / 1e4) / 100;
  }

  info(msg: string, extra: LogFields = {}): void {
    this.write("info", msg, extra);
  }

  error(msg: string, extra: LogFields = {}): void {
    this.write("error", msg, extra);
  }
}
