import { describe, expect, it } from "vitest";
import { WatchEventParser, WatchFrameError } from "./watch-stream.js";

const line = (type: string, name: string, rv: string): string => `${JSON.stringify({ type, object: { metadata: { name, resourceVersion: rv, annotations: { note: "café ☕" } } } })}\n`;

describe("watch stream parser", () => {
  it("gives each event once it is whole, whatever the chunks split (lines, and UTF-8 characters)", () => {
    const bytes = Buffer.from(line("ADDED", "a", "1") + line("MODIFIED", "a", "2") + line("BOOKMARK", "", "3"));
    // Every split point, including inside the multi-byte characters.
    for (let cut = 1; cut < bytes.length; cut++) {
      const p = new WatchEventParser();
      const events = [...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut)), ...p.end()];
      expect(events.map((e) => `${e.type}:${e.object.metadata?.resourceVersion}:${e.object.metadata?.annotations?.note}`), `cut at ${cut}`).toEqual(["ADDED:1:café ☕", "MODIFIED:2:café ☕", "BOOKMARK:3:café ☕"]);
    }
  });

  it("gives nothing for a partial line until its newline (or the stream's end)", () => {
    const p = new WatchEventParser();
    const text = line("DELETED", "b", "9");
    expect(p.push(text.slice(0, 10))).toEqual([]);
    expect(p.push(text.slice(10, -1))).toEqual([]);
    expect(p.end().map((e) => e.type)).toEqual(["DELETED"]);
  });

  it("refuses a line that is not a watch event", () => {
    expect(() => new WatchEventParser().push("{not json\n")).toThrow(WatchFrameError);
    expect(() => new WatchEventParser().push('{"type":"WHAT","object":{}}\n')).toThrow(/unknown type/);
    expect(() => new WatchEventParser().push('{"type":"ADDED"}\n')).toThrow(/without an object/);
  });
});
