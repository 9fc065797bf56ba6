// Property tests on the plugin's input: whatever stdin, config or environment a runtime hands over,
// parsing returns a value or throws a CniError carrying one of the spec's codes — never anything else.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseConfig, parseStdinJson } from "./config.js";
import { readCniEnv } from "./env.js";
import { CniError } from "./errors.js";

function onlyCniErrors(codes: number[], fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof CniError)) throw err;
    expect(codes).toContain(err.code);
    expect(err.message.length).toBeGreaterThan(0);
  }
}

describe("plugin input", () => {
  it("stdin: any string is a config object or a decoding failure (6)", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => onlyCniErrors([6], () => parseStdinJson(s))), { numRuns: 2000 });
    fc.assert(fc.property(fc.json(), (s) => onlyCniErrors([6], () => parseStdinJson(s))), { numRuns: 1000 });
  });

  it("config: any object is a config, an incompatible version (1) or an invalid config (7)", () => {
    const value = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }));
    const keys = fc.constantFrom("cniVersion", "name", "type", "subnetFile", "dataDir", "bridge", "hairpinMode", "isDefaultGateway", "mtu", "logFile", "dns", "prevResult", "cni.dev/valid-attachments", "other");
    const conf = fc.dictionary(keys, value, { maxKeys: 8 });
    fc.assert(fc.property(conf, (c) => onlyCniErrors([1, 7], () => parseConfig(c))), { numRuns: 3000 });
    fc.assert(fc.property(conf, (c) => onlyCniErrors([1, 7], () => parseConfig({ cniVersion: "1.1.0", name: "weft", ...c }))), { numRuns: 3000 });
  });

  it("environment: any CNI_* values are accepted or refused as invalid environment (4)", () => {
    const text = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION", "/var/run/netns/x", "../../etc", "eth0", "a".repeat(20), "IgnoreUnknown=1;K8S_POD_NAME=a"));
    const env = fc.record({ CNI_COMMAND: text, CNI_CONTAINERID: text, CNI_NETNS: text, CNI_IFNAME: text, CNI_ARGS: text }, { requiredKeys: [] });
    fc.assert(
      fc.property(env, (e) =>
        onlyCniErrors([4], () => {
          const parsed = readCniEnv(e);
          // what is accepted can never escape a directory when used as a file name
          if (["ADD", "DEL", "CHECK"].includes(parsed.command)) {
            expect(parsed.containerId).not.toMatch(/[/\0]|^\.\.?$/);
            expect(parsed.ifname).not.toMatch(/[/\0:\s]|^\.\.?$/);
          }
        }),
      ),
      { numRuns: 3000 },
    );
  });
});
