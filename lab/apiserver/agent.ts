// `weft-lab agent apiserver -- --etcd URL[,URL] [--listen HOST:PORT] --socket PATH --cert F --key F
//  --ca F --token-file F --service-cidr CIDR[,CIDR] [--log F] [--bookmark-interval-ms N]
//  [--min-request-timeout SECONDS]` and
// `weft-lab agent relay -- --socket PATH --port N [--log F]`.
import { parseArgs } from "node:util";
import { runApiServer, runRelay } from "./main.js";

export async function runAgent(role: string, argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      etcd: { type: "string" },
      listen: { type: "string" },
      socket: { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      ca: { type: "string" },
      "token-file": { type: "string" },
      "service-cidr": { type: "string", default: "10.96.0.0/12" },
      log: { type: "string" },
      port: { type: "string" },
      "bookmark-interval-ms": { type: "string" },
      "min-request-timeout": { type: "string" },
    },
  });
  const need = (name: keyof typeof v): string => {
    const value = v[name];
    if (typeof value !== "string" || !value) throw new Error(`agent ${role}: --${name} is required`);
    return value;
  };
  if (role === "relay") return runRelay(need("socket"), Number(need("port")), v.log);
  await runApiServer({
    etcdEndpoints: need("etcd").split(","),
    ...(v.listen ? { listen: v.listen } : {}),
    socketPath: need("socket"),
    certFile: need("cert"),
    keyFile: need("key"),
    caFile: need("ca"),
    tokenFile: need("token-file"),
    serviceCidr: need("service-cidr"),
    ...(v.log ? { logFile: v.log } : {}),
    ...(v["bookmark-interval-ms"] ? { bookmarkIntervalMs: Number(v["bookmark-interval-ms"]) } : {}),
    ...(v["min-request-timeout"] ? { minRequestTimeoutSeconds: Number(v["min-request-timeout"]) } : {}),
  });
}
