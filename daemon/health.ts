// /healthz (the process answers), /readyz (lease held, device present, first reconcile done, etcd
// reachable; the body says what is wrong) and /metrics.
import { createServer, type Server } from "node:http";
import type { DaemonMetrics } from "./metrics.js";

export interface Readiness {
  problems(): string[];
}

export function serveHealth(addr: string, readiness: Readiness, metrics: DaemonMetrics): Promise<Server> {
  const [host, portText] = addr.includes(":") ? [addr.slice(0, addr.lastIndexOf(":")), addr.slice(addr.lastIndexOf(":") + 1)] : ["127.0.0.1", addr];
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const problems = readiness.problems();
      res.writeHead(problems.length ? 503 : 200, { "content-type": "text/plain" }).end(problems.length ? `not ready:\n${problems.map((p) => `- ${p}`).join("\n")}\n` : "ready\n");
    } else if (path === "/metrics") {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    } else {
      res.writeHead(404).end("not found: try /healthz, /readyz or /metrics\n");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(portText), host, () => resolve(server));
  });
}
