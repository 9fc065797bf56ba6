// The matrix's probes: everything one row needs, run in one process inside the row's source namespace
// (a namespace is per process, so a row is one `weft-lab agent probe-row` there). Each cell proves its
// protocol with real exchanges and checks who answered and which source address the destination saw.
import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { lookup } from "node:dns/promises";
import { request } from "node:http";
import { connect as h2connect } from "node:http2";
import { connect, isIP } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { hostPort } from "../../proxy/family-syntax.js";

export const PROTOCOLS = ["ICMP", "TCP", "UDP", "SCTP", "HTTP/1.1", "HTTP/2", "gRPC"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface Cell {
  protocol: Protocol;
  /** undefined: the cell does not apply (`note` says why). */
  ok?: boolean;
  /** p50 round trip over a few exchanges. */
  ms?: number;
  /** TCP: 1 MiB each way through the path. */
  mbps?: number;
  note?: string;
}

export interface RowTarget {
  /** An address, or a name resolved through the source's resolv.conf (cluster DNS in pods). */
  host: string;
  /** The family a name is resolved to (an A or an AAAA record); 4 unless said. */
  family?: 4 | 6;
  ports: Partial<Record<Exclude<Protocol, "ICMP">, number>>;
  /** Cells that do not apply, with why. */
  na?: Partial<Record<Protocol, string>>;
  /** Who must answer: a pod's name, or a prefix ending in "-" for any pod of a workload. */
  name?: string;
  /** The source address the destination must see (no NAT: the pod's own; masqueraded: the node's). */
  source?: string;
  /** Through an Ingress: HTTP/1.1 with this Host header; HTTP/2 and gRPC over TLS to these server names. */
  ingress?: { host: string; grpcHost: string; ca: string };
}

const TIMEOUT_MS = 3_000;
const ROUNDS = 5;
const BULK = 1 << 20;

class ProbeError extends Error {}

function withTimeout<T>(what: string, p: Promise<T>, ms = TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new ProbeError(`${what}: no answer within ${ms} ms`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const round2 = (x: number): number => Math.round(x * 100) / 100;

async function timedRounds(n: number, once: () => Promise<void>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await once();
    times.push(performance.now() - t);
  }
  return round2(median(times));
}

function checkName(t: RowTarget, got: string): void {
  const want = t.name;
  if (!want) return;
  const ok = want.endsWith("-") ? got.startsWith(want) : got === want;
  if (!ok) throw new ProbeError(`answered by "${got}", expected ${want.endsWith("-") ? `a ${want}* pod` : `"${want}"`}`);
}


function checkSource(t: RowTarget, seen: string): void {
  // "addr:port", or "[addr]:port" for IPv6 (agnhost's form).
  const addr = seen.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1").replace(/^::ffff:/, "");
  if (t.source && addr !== t.source) throw new ProbeError(`destination saw source ${addr}, expected ${t.source}`);
}

function icmp(host: string): Promise<{ ms: number }> {
  const r = spawnSync("ping", ["-c", "3", "-i", "0.2", "-W", "1", "-q", host], { encoding: "utf8", timeout: 10_000 });
  const received = /(\d+) received/.exec(r.stdout)?.[1];
  if (r.status !== 0 || received !== "3") throw new ProbeError(`${received ?? 0} of 3 echo replies`);
  return Promise.resolve({ ms: Number(/= [\d.]+\/([\d.]+)\//.exec(r.stdout)?.[1] ?? 0) });
}

/** TCP echo: small round trips, then 1 MiB each way compared byte for byte (no black hole at the overlay MTU). */
async function tcp(host: string, port: number): Promise<{ ms: number; mbps: number }> {
  const sock = connect({ host, port });
  sock.setNoDelay(true);
  let pending: { want: number; got: Buffer[]; size: number; resolve: (b: Buffer) => void } | undefined;
  sock.on("data", (d: Buffer) => {
    if (!pending) return;
    pending.got.push(d);
    pending.size += d.length;
    if (pending.size >= pending.want) pending.resolve(Buffer.concat(pending.got));
  });
  const failed = new Promise<never>((_, reject) => sock.on("error", (e) => reject(new ProbeError(e.message))));
  const exchange = (payload: Buffer, ms = TIMEOUT_MS): Promise<Buffer> =>
    withTimeout(`echo of ${payload.length} bytes`, Promise.race([new Promise<Buffer>((resolve) => ((pending = { want: payload.length, got: [], size: 0, resolve }), sock.write(payload))), failed]), ms);
  try {
    await withTimeout("connect", Promise.race([new Promise((r) => sock.once("connect", r)), failed]));
    const ms = await timedRounds(ROUNDS, async () => {
      const back = await exchange(Buffer.from("weft-lab\n"));
      if (back.toString() !== "weft-lab\n") throw new ProbeError(`echo came back as ${JSON.stringify(back.toString())}`);
    });
    const bulk = Buffer.alloc(BULK, 0);
    for (let i = 0; i < bulk.length; i += 4) bulk.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, i);
    const t = performance.now();
    const back = await exchange(bulk, 15_000);
    const secs = (performance.now() - t) / 1000;
    if (!back.subarray(0, BULK).equals(bulk)) throw new ProbeError("1 MiB came back altered");
    return { ms, mbps: round2((2 * BULK * 8) / secs / 1e6) };
  } finally {
    sock.destroy();
  }
}

/** UDP in agnhost's netexec protocol: "hostname", "clientip", "echo <data>"; 1,400-byte and 8 KiB (fragmented) datagrams intact. */
async function udp(t: RowTarget, host: string, port: number): Promise<{ ms: number; note?: string }> {
  const sock = createSocket(isIP(host) === 6 ? "udp6" : "udp4");
  const ask = (msg: Buffer): Promise<Buffer> =>
    withTimeout(`UDP reply to ${msg.length} bytes`, new Promise<Buffer>((resolve, reject) => {
      sock.once("message", resolve);
      sock.once("error", reject);
      sock.send(msg, port, host);
    }));
  try {
    let name = "";
    const ms = await timedRounds(ROUNDS, async () => void (name = (await ask(Buffer.from("hostname"))).toString()));
    checkName(t, name);
    checkSource(t, (await ask(Buffer.from("clientip"))).toString());
    let note: string | undefined;
    for (const size of [1400, 8192]) {
      const data = Buffer.from(Uint8Array.from({ length: size - 5 }, (_, i) => 65 + (i % 26)));
      const echo = Buffer.concat([Buffer.from("echo "), data]);
      let back: Buffer;
      try {
        back = await ask(echo);
      } catch (err) {
        // A datagram larger than the path's MTU (a pod's is the overlay's: 80 bytes less than the underlay's
        // over WireGuard) is not fragmented on the way where the sender set DF (Linux does for a datagram
        // that fits its own link) or the family is IPv6: it is answered with Fragmentation Needed or Packet
        // Too Big, which teaches the sender the path MTU. UDP does not resend, a client does. Once, and said in the cell.
        if (isIP(host) !== 6 && size >= 8192) throw err; // IPv4 fragments what exceeds the sender's own link, without DF
        back = await ask(echo);
        note = `the first ${size}-byte datagram was lost to path-MTU discovery (${isIP(host) === 6 ? "Packet Too Big" : "Fragmentation Needed"}); the retry passed`;
      }
      if (!back.equals(data)) throw new ProbeError(`a ${size}-byte datagram came back as ${back.length} bytes, altered`);
    }
    return { ms, ...(note ? { note } : {}) };
  } finally {
    sock.close();
  }
}

function httpGet(host: string, port: number, path: string, hostHeader?: string): Promise<string> {
  return withTimeout(`GET ${path}`, new Promise<string>((resolve, reject) => {
    const req = request({ host, port, path, agent: false, ...(hostHeader ? { headers: { host: hostHeader } } : {}) }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new ProbeError(`GET ${path}: HTTP ${res.statusCode}`))));
    });
    req.on("error", (e) => reject(new ProbeError(e.message)));
    req.end();
  }));
}

async function http1(t: RowTarget, host: string, port: number): Promise<{ ms: number }> {
  let name = "";
  const ms = await timedRounds(ROUNDS, async () => void (name = (await httpGet(host, port, "/hostname", t.ingress?.host)).trim()));
  checkName(t, name);
  checkSource(t, await httpGet(host, port, "/clientip", t.ingress?.host));
  return { ms };
}

/** HTTP/2 over cleartext with prior knowledge (h2c), or over TLS by ALPN through an Ingress; several streams on one connection. */
async function http2(t: RowTarget, host: string, port: number): Promise<{ ms: number; note?: string }> {
  const ing = t.ingress;
  // Through an Ingress the connection goes to the address found, the TLS server name and :authority are the Ingress host.
  const session = ing ? h2connect(`https://${ing.host}:${port}`, { createConnection: () => tlsConnect({ host, port, servername: ing.host, ca: ing.ca, ALPNProtocols: ["h2"] }) }) : h2connect(`http://${hostPort(host, port)}`);
  const failed = new Promise<never>((_, reject) => session.on("error", (e) => reject(new ProbeError(e.message))));
  const get = (path: string): Promise<string> =>
    withTimeout(`HTTP/2 GET ${path}`, Promise.race([failed, new Promise<string>((resolve, reject) => {
      const req = session.request({ ":path": path });
      let status = 0;
      let body = "";
      req.on("response", (h) => (status = Number(h[":status"])));
      req.on("data", (d) => (body += d));
      req.on("end", () => (status === 200 ? resolve(body) : reject(new ProbeError(`HTTP/2 GET ${path}: status ${status}`))));
      req.on("error", (e) => reject(new ProbeError(e.message)));
      req.end();
    })]));
  try {
    let name = "";
    const ms = await timedRounds(ROUNDS, async () => void (name = (await get("/hostname")).trim()));
    checkName(t, name);
    checkSource(t, await get("/clientip"));
    return { ms, ...(ing ? { note: `h2 over TLS (ALPN ${session.alpnProtocol ?? "?"}) to ${ing.host}` } : {}) };
  } finally {
    session.destroy();
  }
}

async function grpcCell(t: RowTarget, host: string, port: number): Promise<{ ms: number }> {
  const { grpcExchanges } = await import("./grpc-probe.js");
  const r = await grpcExchanges(hostPort(host, port), ROUNDS, t.ingress ? { ca: t.ingress.ca, servername: t.ingress.grpcHost } : undefined);
  checkName(t, r.hostname);
  return { ms: round2(median(r.healthMs)) };
}

async function sctp(t: RowTarget, host: string, port: number): Promise<{ ms: number; note: string }> {
  const { sctpExchange } = await import("../containers/sctp.js");
  const answers = [0, 1, 2].map(() => sctpExchange(host, port));
  const last = answers.at(-1);
  if (!last) throw new ProbeError("no exchange");
  checkName(t, last.name);
  return { ms: round2(median(answers.map((a) => a.ms))), note: last.method };
}

export async function probeRow(t: RowTarget): Promise<Cell[]> {
  let host = t.host;
  let resolved: string | undefined;
  if (!isIP(host)) {
    // getaddrinfo with the pod's resolv.conf: the search path and ndots as a pod uses them.
    const started = performance.now();
    try {
      host = (await withTimeout(`resolving ${t.host}`, lookup(t.host, { family: t.family ?? 4 }))).address;
      resolved = `${t.host} → ${host} by cluster DNS in ${round2(performance.now() - started)} ms`;
    } catch (err) {
      return PROTOCOLS.map((protocol) => ({ protocol, ok: false, note: `cannot resolve ${t.host}: ${(err as Error).message}` }));
    }
  }
  const cells: Cell[] = [];
  for (const protocol of PROTOCOLS) {
    const why = t.na?.[protocol];
    const port = protocol === "ICMP" ? 0 : t.ports[protocol];
    if (why || (protocol !== "ICMP" && !port)) {
      cells.push({ protocol, note: why ?? "no port for it on this path" });
      continue;
    }
    try {
      const p = port as number;
      const run = { ICMP: () => icmp(host), TCP: () => tcp(host, p), UDP: () => udp(t, host, p), SCTP: () => sctp(t, host, p), "HTTP/1.1": () => http1(t, host, p), "HTTP/2": () => http2(t, host, p), gRPC: () => grpcCell(t, host, p) }[protocol];
      const r: { ms: number; mbps?: number; note?: string } = await run();
      const note = [r.note, protocol === "UDP" && resolved ? resolved : undefined].filter(Boolean).join("; ");
      cells.push({ protocol, ok: true, ms: r.ms, ...(r.mbps ? { mbps: r.mbps } : {}), ...(note ? { note } : {}) });
    } catch (err) {
      cells.push({ protocol, ok: false, note: (err as Error).message });
    }
  }
  return cells;
}
