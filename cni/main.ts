// The CNI plugin `weft`: read env and stdin, run one verb, print the result or the spec's error JSON.
// stdout carries only that; logs go to the conflist's logFile. The executable's entry point
// (cni/sea-main.ts) answers --version and runs this with its code cache (cni/sea-asset.ts).
import { readFileSync, writeSync } from "node:fs";
import { cmdAdd } from "./add.js";
import { cmdCheck } from "./check.js";
import { checkVersion, parseConfig, parseStdinJson } from "./config.js";
import { cmdDel } from "./del.js";
import { readCniEnv } from "./env.js";
import { CNI_ERROR, CniError } from "./errors.js";
import { cmdGc } from "./gc.js";
import { PluginLog } from "./log.js";
import { LATEST_VERSION, resultForVersion, SUPPORTED_VERSIONS } from "./spec.js";
import { cmdStatus } from "./status.js";
import { translateError } from "./translate-error.js";
import { crashPoint } from "./crash-point.js";

function print(obj: object): void {
  writeSync(1, `${JSON.stringify(obj)}\n`);
}

function readStdin(): string {
  try {
    return readFileSync(0, "utf8");
  } catch (err) {
    throw new CniError(CNI_ERROR.IO_FAILURE, `cannot read the network config from stdin: ${(err as Error).message}`);
  }
}

function run(): number {
  let cniVersion = LATEST_VERSION;
  let log = new PluginLog(undefined);
  const started = process.hrtime.bigint();
  // Node's start and the loading of this verb's code, before the first mark (process.uptime loads no module).
  const loadedMs = Math.round(process.uptime() * 1e5) / 100;
  try {
    const env = readCniEnv(process.env);
    const raw = parseStdinJson(readStdin());
    if (typeof raw.cniVersion === "string") cniVersion = raw.cniVersion;
    if (env.command === "VERSION") {
      if (typeof raw.cniVersion === "string") checkVersion(raw.cniVersion);
      print({ cniVersion: LATEST_VERSION, supportedVersions: SUPPORTED_VERSIONS });
      return 0;
    }
    const conf = parseConfig(raw);
    log = new PluginLog(conf.logFile);
    log.mark("config");
    log.with({ verb: env.command, containerId: env.containerId || undefined, netns: env.netns || undefined, ifname: env.ifname || undefined, pod: env.args.get("K8S_POD_NAME") });
    switch (env.command) {
      case "ADD": {
        const result = resultForVersion(cmdAdd(conf, env, log), cniVersion);
        crashPoint("before-result");
        print(result);
        break;
      }
      case "DEL":
        cmdDel(conf, env, log);
        break;
      case "CHECK":
        cmdCheck(conf, env);
        break;
      case "GC":
        cmdGc(conf, log);
        break;
      case "STATUS":
        cmdStatus(conf);
        break;
    }
    log.info("done", { ms: Number(process.hrtime.bigint() - started) / 1e6, steps: log.steps, loadedMs });
    return 0;
  } catch (err) {
    const cniErr = translateError(err);
    log.error(cniErr.message, { code: cniErr.code, details: cniErr.details || undefined });
    print(cniErr.toJSON(cniVersion));
    return 1;
  }
}

// process.exit, not exitCode: everything is written synchronously by now, and exit skips the
// environment's teardown (freeing the heap page by page), which a short-lived plugin does not need.
process.exit(run());
