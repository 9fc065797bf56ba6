// A one-shot gRPC client for the lab (grpcurl's job): health check, echo and the serving pod's name
// over one HTTP/2 connection, printed as JSON. Kept apart from netexec so that only this command loads it.
import * as grpc from "@grpc/grpc-js";
import { GRPC_METHODS, SERVING } from "../containers/netexec.js";

export interface GrpcProbeResult {
  ok: boolean;
  status?: "SERVING" | "NOT_SERVING";
  echo?: string;
  hostname?: string;
  ms: number;
  error?: string;
}

const raw = (b: Buffer): Buffer => b;

/** One unary call with raw bytes in and out, under its own deadline. */
function unaryCaller(client: grpc.Client, timeoutMs: number): (path: string, body: Buffer) => Promise<Buffer> {
  return (path, body) => new Promise((resolve, reject) => client.makeUnaryRequest(path, raw, raw, body, { deadline: Date.now() + timeoutMs }, (err, res) => (err || !res ? reject(err ?? new Error("empty reply")) : resolve(res))));
}

export async function grpcProbe(target: string, timeoutMs = 3_000): Promise<GrpcProbeResult> {
  const t = performance.now();
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  const call = unaryCaller(client, timeoutMs);
  try {
    const health = await call(GRPC_METHODS.health, Buffer.alloc(0));
    const echo = await call(GRPC_METHODS.echo, Buffer.from("weft"));
    const hostname = await call(GRPC_METHODS.hostname, Buffer.alloc(0));
    const status = health.equals(SERVING) ? "SERVING" : "NOT_SERVING";
    return { ok: status === "SERVING" && echo.toString() === "weft", status, echo: echo.toString(), hostname: hostname.toString(), ms: performance.now() - t };
  } catch (err) {
    return { ok: false, ms: performance.now() - t, error: (err as Error).message };
  } finally {
    client.close();
  }
}

/** The matrix's gRPC cell: `rounds` health checks (p50), a 1 MiB unary echo, a server stream and the serving pod's name. */
export async function grpcExchanges(target: string, rounds: number, tls?: { ca: string; servername: string }, timeoutMs = 5_000): Promise<{ healthMs: number[]; hostname: string }> {
  // Through an Ingress: TLS with the Ingress host as server name and :authority, as a client that resolved it would send.
  const client = tls
    ? new grpc.Client(target, grpc.credentials.createSsl(Buffer.from(tls.ca)), { "grpc.ssl_target_name_override": tls.servername, "grpc.default_authority": tls.servername })
    : new grpc.Client(target, grpc.credentials.createInsecure());
  const call = unaryCaller(client, timeoutMs);
  try {
    const times: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t = performance.now();
      const health = await call(GRPC_METHODS.health, Buffer.alloc(0));
      times.push(performance.now() - t);
      if (!health.equals(SERVING)) throw new Error("health check: NOT_SERVING");
    }
    const big = Buffer.from(Uint8Array.from({ length: 1 << 20 }, (_, i) => i % 251));
    if (!(await call(GRPC_METHODS.echo, big)).equals(big)) throw new Error("a 1 MiB echo came back altered");
    const streamed = await new Promise<Buffer[]>((resolve, reject) => {
      const got: Buffer[] = [];
      const s = client.makeServerStreamRequest(GRPC_METHODS.stream, raw, raw, Buffer.from("weft"), { deadline: Date.now() + timeoutMs });
      s.on("data", (b: Buffer) => got.push(b));
      s.on("end", () => resolve(got));
      s.on("error", reject);
    });
    if (streamed.length !== 3 || streamed.some((b) => b.toString() !== "weft")) throw new Error(`server stream gave ${streamed.length} messages, expected 3`);
    const hostname = (await call(GRPC_METHODS.hostname, Buffer.alloc(0))).toString();
    return { healthMs: times, hostname };
  } finally {
    client.close();
  }
}
