// Entry point of `weftd`, the node daemon.
import "./v8-tuning.js"; // first: V8 flags apply to what is compiled after them
import { hideBin } from "yargs/helpers";
import { parseDaemonArgs } from "./config.js";

const version = typeof __WEFT_VERSION__ === "string" ? __WEFT_VERSION__ : "dev";

async function main(): Promise<void> {
  if (hideBin(process.argv)[0] === "explain") {
    const { runExplain } = await import("./explain-command.js");
    try {
      process.exit(await runExplain(hideBin(process.argv).slice(1)));
    } catch (err) {
      console.error(`weftd explain: ${(err as Error).message}`);
      process.exit(1);
    }
  }
  let cfg;
  try {
    cfg = parseDaemonArgs(hideBin(process.argv), version);
  } catch (err) {
    console.error(`weftd: ${(err as Error).message}`);
    process.exit(1);
  }
  // Loaded only now: etcd3, gRPC and pino take ~200 ms to load, which --version and --help do not need.
  const { createLogger } = await import("./log.js");
  const { Weftd } = await import("./weftd.js");
  const log = createLogger(cfg.logLevel);
  let daemon: InstanceType<typeof Weftd>;
  try {
    daemon = new Weftd(cfg, log); // reads the etcd TLS files: a bad one is a one-line fatal, not a stack
  } catch (err) {
    log.fatal({ err: (err as Error).message }, "weftd could not start");
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    void daemon.stop().finally(() => process.exit(0));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  try {
    await daemon.start();
  } catch (err) {
    log.fatal({ err: (err as Error).message }, "weftd could not start");
    process.exit(1);
  }
}

void main();
