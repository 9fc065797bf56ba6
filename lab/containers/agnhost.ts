// The agnhost subcommands of the upstream NetworkPolicy suite, run by the lab's containers (a pod's
// containers with those args each get theirs, in the pod's one process) and by `weft-lab agent connect`
// as the probe. serve-hostname answers the pod's name (TCP: written on accept, then closed; UDP: to any
// datagram); porter answers each SERVE_*PORT_N variable's value (TCP and TLS over HTTP, SCTP through
// sctp.ts: an INIT ACK whose cookie carries the value where the kernel has no SCTP sockets).
import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type RequestListener } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect as tcpConnect, createServer as createTcpServer, isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgnhostCommand, Connect, PorterServer } from "./agnhost-args.js";

type Log = (msg: string, fields?: object) => void;

/** agnhost connect's default when no --timeout is given. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export interface ConnectResult {
  ok: boolean;
  ms: number;
  /** What answered (UDP, SCTP), or why it failed. */
  detail: string;
}

function connectTcp(host: string, port: number, timeoutMs: number): Promise<ConnectResult> {
  const t = performance.now();
  return new Promise((resolve) => {
    const sock = tcpConnect({ host, port });
    const done = (ok: boolean, detail: string): void => {
      sock.destroy();
      resolve({ ok, ms: performance.now() - t, detail });
    };
    sock.setTimeout(timeoutMs, () => done(false, `TIMEOUT: no connection to ${host}:${port} within ${timeoutMs} ms`));
    sock.on("connect", () => done(true, "connected"));
    sock.on("error", (err) => done(false, `REFUSED: ${err.message}`));
  });
}

/** As agnhost's connect over UDP: a datagram out, and any answer within the timeout. */
function connectUdp(host: string, port: number, timeoutMs: number): Promise<ConnectResult> {
  const t = performance.now();
  return new Promise((resolve) => {
    const sock = createSocket(host.includes(":") ? "udp6" : "udp4");
    // Sent again every 250 ms within the timeout: one datagram lost is not a denial.
    const send = (): void => sock.send("hostname", port, host);
    const resend = setInterval(send, 250);
    const finish = (ok: boolean, detail: string): void => {
      clearTimeout(timer);
      clearInterval(resend);
      sock.close();
      resolve({ ok, ms: performance.now() - t, detail });
    };
    const timer = setTimeout(() => finish(false, `TIMEOUT: no answer from ${host}:${port} within ${timeoutMs} ms`), timeoutMs);
    sock.on("message", (msg) => finish(true, msg.toString().trim()));
    sock.on("error", (err) => finish(false, `OTHER: ${err.message}`));
    send();
  });
}

/** SCTP: a real association where the kernel has SCTP sockets, else the raw INIT → INIT ACK exchange (sctp.ts). */
async function connectSctp(host: string, port: number, timeoutMs: number): Promise<ConnectResult> {
  const t = performance.now();
  const { sctpExchange } = await import("./sctp.js");
  try {
    const a = sctpExchange(host, port, timeoutMs);
    return { ok: true, ms: a.ms, detail: `${a.name} (${a.method})` };
  } catch (err) {
    return { ok: false, ms: performance.now() - t, detail: (err as Error).message };
  }
}

/** Connects as agnhost does; a name is resolved first (the pod's resolv.conf: cluster DNS), a failure to resolve is a failed probe. */
export async function agnhostConnect(c: Pick<Connect, "host" | "port" | "protocol" | "timeoutMs">): Promise<ConnectResult> {
  const timeoutMs = c.timeoutMs || DEFAULT_CONNECT_TIMEOUT_MS;
  let host = c.host;
  if (!isIP(host)) {
    try {
      host = (await lookup(host)).address;
    } catch (err) {
      return { ok: false, ms: 0, detail: `DNS: cannot resolve ${c.host}: ${(err as Error).message}` };
    }
  }
  if (c.protocol === "udp") return connectUdp(host, c.port, timeoutMs);
  if (c.protocol === "sctp") return connectSctp(host, c.port, timeoutMs);
  return connectTcp(host, c.port, timeoutMs);
}

/** A throwaway self-signed certificate for porter's TLS ports (openssl, as the lab's API server makes its own). */
function selfSigned(name: string): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), "weft-agnhost-"));
  try {
    const [key, cert] = [join(dir, "tls.key"), join(dir, "tls.crt")];
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", `/CN=${name}`, "-keyout", key, "-out", cert], { stdio: "ignore" });
    return { key: readFileSync(key), cert: readFileSync(cert) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface AgnhostPod {
  pod: string;
  dualStack: boolean;
}

function servePorter(servers: PorterServer[], pod: AgnhostPod, log: Log): void {
  const host = pod.dualStack ? "::" : "0.0.0.0";
  const answer = (value: string): RequestListener => (_req, res) => void res.writeHead(200, { "content-type": "text/plain" }).end(value);
  for (const s of servers.filter((x) => x.protocol === "tcp")) createHttpServer(answer(s.value)).listen({ port: s.port, host });
  const tls = servers.filter((x) => x.protocol === "tls");
  if (tls.length) {
    const creds = selfSigned(pod.pod);
    for (const s of tls) createHttpsServer(creds, answer(s.value)).listen({ port: s.port, host });
  }
  // One SCTP server per answer: the cookie (or the association's reply) carries the value.
  const byValue = new Map<string, number[]>();
  for (const s of servers.filter((x) => x.protocol === "sctp")) byValue.set(s.value, [...(byValue.get(s.value) ?? []), s.port]);
  if (byValue.size) void import("./sctp.js").then(({ serveSctp }) => byValue.forEach((ports, value) => serveSctp(value, ports, log, { ipv6: pod.dualStack })));
}

/** Starts one container's server; `connect` is a probe, not a server, and is refused here. */
export function serveAgnhost(cmd: AgnhostCommand, pod: AgnhostPod, log: Log): void {
  const host = pod.dualStack ? "::" : "0.0.0.0";
  if (cmd.kind === "connect") throw new Error("agnhost connect is a probe: run it with `weft-lab exec … -- weft-lab agent connect`, not as a container");
  if (cmd.kind === "porter") return servePorter(cmd.servers, pod, log);
  if (cmd.protocol === "tcp") {
    createTcpServer((sock) => sock.on("error", () => undefined).end(pod.pod)).listen({ port: cmd.port, host });
  } else {
    const sock = createSocket(pod.dualStack ? "udp6" : "udp4");
    sock.on("message", (_msg, rinfo) => sock.send(pod.pod, rinfo.port, rinfo.address));
    sock.bind(cmd.port, host);
  }
  log("agnhost serving", { pod: pod.pod, ...cmd });
}
