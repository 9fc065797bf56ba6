// What runs inside lab namespaces: a test server (HTTP with the client's address, TCP echo, UDP reply,
// in the spirit of Kubernetes' agnhost netexec) and one-shot probes that print JSON with the latency.
import { createSocket } from "node:dgram";
import { createServer as createHttpServer, request } from "node:http";
import { connect, createServer as createTcpServer } from "node:net";

export const PORTS = { http: 8080, udp: 8081, tcp: 8082 } as const;

export function serve(name: string, ports: { http?: number; udp?: number; tcp?: number }): void {
  if (ports.http) {
    createHttpServer((req, res) => {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ name, client: req.socket.remoteAddress?.replace(/^::ffff:/, ""), path: req.url }));
    }).listen(ports.http, "0.0.0.0");
  }
  if (ports.tcp) createTcpServer((sock) => sock.pipe(sock)).listen(ports.tcp, "0.0.0.0");
  if (ports.udp) {
    const udp = createSocket("udp4");
    udp.on("message", (msg, rinfo) => udp.send(JSON.stringify({ name, client: rinfo.address, bytes: msg.length }), rinfo.port, rinfo.address));
    udp.bind(ports.udp, "0.0.0.0");
  }
}

export interface ProbeResult {
  ok: boolean;
  ms: number;
  body?: string;
  error?: string;
}

const TIMEOUT_MS = 3_000;

function timed(run: (done: (r: Omit<ProbeResult, "ms">) => void) => void): Promise<ProbeResult> {
  const t = performance.now();
  return new Promise((resolve) => {
    let finished = false;
    const done = (r: Omit<ProbeResult, "ms">): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      resolve({ ...r, ms: Math.round((performance.now() - t) * 100) / 100 });
    };
    const timer = setTimeout(() => done({ ok: false, error: `no answer within ${TIMEOUT_MS} ms` }), TIMEOUT_MS);
    run(done);
  });
}

/** Runs a probe `n` times; the first (cold) run warms the process up, the median of the rest is reported. */
export async function repeated(n: number, once: () => Promise<ProbeResult>): Promise<ProbeResult> {
  const runs: ProbeResult[] = [];
  for (let i = 0; i < n; i++) {
    const r = await once();
    runs.push(r);
    if (!r.ok) return r;
  }
  const warm = runs.slice(1).map((r) => r.ms).sort((a, b) => a - b);
  const last = runs.at(-1) as ProbeResult;
  return { ...last, ms: warm[Math.floor(warm.length / 2)] ?? last.ms };
}

export function probeHttp(host: string, port: number): Promise<ProbeResult> {
  return timed((done) => {
    const req = request({ host, port, path: "/", agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => done({ ok: res.statusCode === 200, body }));
    });
    req.on("error", (err) => done({ ok: false, error: err.message }));
    req.end();
  });
}

export function probeTcp(host: string, port: number): Promise<ProbeResult> {
  return timed((done) => {
    const sock = connect({ host, port }, () => sock.write("weft-lab\n"));
    sock.on("data", (d) => {
      done({ ok: d.toString() === "weft-lab\n", body: d.toString() });
      sock.destroy();
    });
    sock.on("error", (err) => done({ ok: false, error: err.message }));
  });
}

export function probeUdp(host: string, port: number): Promise<ProbeResult> {
  return timed((done) => {
    const udp = createSocket("udp4");
    udp.on("message", (msg) => {
      done({ ok: true, body: msg.toString() });
      udp.close();
    });
    udp.on("error", (err) => done({ ok: false, error: err.message }));
    udp.send("weft-lab", port, host);
  });
}
