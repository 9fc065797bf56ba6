// A Kubernetes API server that plays what a test scripts, over HTTPS on 127.0.0.1 with a self-signed
// certificate made by the openssl CLI: each request is recorded and answered by the test's handler,
// a watch by writing events one line at a time and ending when the test says.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  at: number;
}

/** An open watch: events written as lines; `end()` closes it as the server's timeout would. */
export interface WatchWriter {
  send(type: string, object: unknown): void;
  end(): void;
  /** Resolves when the client has gone (it closed, or aborted). */
  closed: Promise<void>;
}

export type Reply = { status: number; body: unknown } | { watch: (w: WatchWriter) => void };

export interface ScriptedKubeApi {
  url: string;
  dir: string;
  caFile: string;
  requests: RecordedRequest[];
  /** Connections open now (a client that stopped leaves none behind). */
  openConnections(): number;
  close(): Promise<void>;
}

/** A self-signed certificate for 127.0.0.1 (and localhost), in `dir`. */
export function makeSelfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, "server.crt");
  const key = join(dir, "server.key");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=scripted-kube-api", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], { stdio: "pipe" });
  return { cert, key };
}

export async function startScriptedKubeApi(handler: (req: RecordedRequest) => Reply | Promise<Reply>): Promise<ScriptedKubeApi> {
  const dir = mkdtempSync(join(tmpdir(), "weft-kube-api-"));
  const { cert, key } = makeSelfSignedCert(dir);
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
    const url = new URL(req.url ?? "/", "https://x");
    const rec: RecordedRequest = { method: req.method ?? "GET", path: url.pathname, query: url.searchParams, headers: req.headers, at: Date.now() };
    requests.push(rec);
    void Promise.resolve(handler(rec)).then((reply) => answer(res, reply));
  });
  server.on("secureConnection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    dir,
    caFile: cert,
    requests,
    openConnections: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function answer(res: ServerResponse, reply: Reply): void {
  if ("status" in reply) {
    res.writeHead(reply.status, { "content-type": "application/json" }).end(JSON.stringify(reply.body));
    return;
  }
  res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
  res.flushHeaders();
  const closed = new Promise<void>((r) => res.once("close", () => r()));
  reply.watch({
    send: (type, object) => void res.write(`${JSON.stringify({ type, object })}\n`),
    end: () => void res.end(),
    closed,
  });
}

/** A kube Status body, as the API server sends with an error. */
export function status(code: number, reason: string, message: string): { kind: "Status"; apiVersion: "v1"; status: "Failure"; code: number; reason: string; message: string } {
  return { kind: "Status", apiVersion: "v1", status: "Failure", code, reason, message };
}
