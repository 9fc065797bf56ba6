// A watch's body: one JSON event per line ({"type":"ADDED","object":{…}}), arriving in chunks that
// split lines, and characters, anywhere. Pure: fed bytes, gives events.
import { StringDecoder } from "node:string_decoder";
import type { KubeObject } from "./resources.js";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  /** The object; for ERROR a metav1.Status; for BOOKMARK only its metadata.resourceVersion counts. */
  object: T;
}

const TYPES = new Set<string>(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]);

/** A line that is not a watch event: the stream cannot be trusted past it. */
export class WatchFrameError extends Error {
  constructor(
    readonly line: string,
    problem: string,
  ) {
    super(`watch stream: ${problem}: ${line.length > 200 ? `${line.slice(0, 200)}…` : line}`);
    this.name = "WatchFrameError";
  }
}

export class WatchEventParser {
  // The decoder holds a multi-byte character split across chunks until its last byte comes.
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";

  /** The events completed by this chunk, in order. */
  push(chunk: Buffer | string): WatchEvent[] {
    this.pending += typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    const events: WatchEvent[] = [];
    let nl: number;
    while ((nl = this.pending.indexOf("\n")) >= 0) {
      const line = this.pending.slice(0, nl).trim();
      this.pending = this.pending.slice(nl + 1);
      if (line) events.push(parseEvent(line));
    }
    return events;
  }

  /** At the end of the stream: a last event without its newline, if one is there. */
  end(): WatchEvent[] {
    const rest = (this.pending + this.decoder.end()).trim();
    this.pending = "";
    return rest ? [parseEvent(rest)] : [];
  }
}

function parseEvent(line: string): WatchEvent {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new WatchFrameError(line, "a line that is not JSON");
  }
  const e = v as { type?: unknown; object?: unknown };
  if (typeof e.type !== "string" || !TYPES.has(e.type)) throw new WatchFrameError(line, "an event of unknown type");
  if (!e.object || typeof e.object !== "object") throw new WatchFrameError(line, "an event without an object");
  return { type: e.type as WatchEventType, object: e.object as KubeObject };
}
