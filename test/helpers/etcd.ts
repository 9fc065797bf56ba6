// A real etcd per test suite: free ports, its own data dir in a temp folder, stopped in every
// outcome. Optionally inside a network namespace (`netns`), for lab-like tests.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface EtcdServer {
  endpoint: string;
  dataDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
  /** Stops the process but keeps the data dir, so `restart()` brings the same data back. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
}

async function waitHealthy(endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${endpoint}/health`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`etcd at ${endpoint} not healthy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** etcd's own TLS: its certificate and key, and the CA that client certificates must chain to. */
export interface EtcdTls {
  ca: string;
  cert: string;
  key: string;
  /** A client certificate etcd accepts, for the health probe. */
  clientCert: string;
  clientKey: string;
}

/** Health through etcdctl, for TLS (client certificates required) and for servers inside a namespace. */
async function waitHealthyEtcdctl(prefix: string[], endpoint: string, tlsArgs: string[], what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const p = spawn(prefix[0] ?? "etcdctl", [...prefix.slice(1), ...(prefix.length ? ["etcdctl"] : []), `--endpoints=${endpoint}`, ...tlsArgs, "--dial-timeout=1s", "endpoint", "health"], { stdio: "ignore" });
      p.on("exit", (code) => resolve(code === 0));
      p.on("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`etcd at ${endpoint}${what} not healthy after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts etcd. With `netns`, etcd runs inside that (test-created) namespace and listens on `host`,
 * an address of that namespace; health is then probed from inside the namespace too. With `tls`, it
 * serves https only and requires client certificates.
 */
export async function startEtcd(opts: { host?: string; netns?: string; clientPort?: number; peerPort?: number; tls?: EtcdTls } = {}): Promise<EtcdServer> {
  const host = opts.host ?? "127.0.0.1";
  const clientPort = opts.clientPort ?? (opts.netns ? 2379 : await freePort());
  const peerPort = opts.peerPort ?? (opts.netns ? 2380 : await freePort());
  const dataDir = mkdtempSync(join(tmpdir(), "weft-etcd-"));
  const endpoint = `${opts.tls ? "https" : "http"}://${host}:${clientPort}`;
  const tlsArgs = opts.tls ? ["--cert-file", opts.tls.cert, "--key-file", opts.tls.key, "--trusted-ca-file", opts.tls.ca, "--client-cert-auth"] : [];
  const args = [
    "--name", "weft-test",
    "--data-dir", dataDir,
    "--listen-client-urls", endpoint,
    "--advertise-client-urls", endpoint,
    "--listen-peer-urls", `http://${host}:${peerPort}`,
    "--initial-advertise-peer-urls", `http://${host}:${peerPort}`,
    "--initial-cluster", `weft-test=http://${host}:${peerPort}`,
    "--log-level", "error",
    ...tlsArgs,
  ];
  const spawnOne = (): ChildProcess =>
    opts.netns
      ? spawn("nsenter", [`--net=/var/run/netns/${opts.netns}`, "etcd", ...args], { stdio: ["ignore", "ignore", "pipe"] })
      : spawn("etcd", args, { stdio: ["ignore", "ignore", "pipe"] });
  const probeTls = opts.tls ? [`--cacert=${opts.tls.ca}`, `--cert=${opts.tls.clientCert}`, `--key=${opts.tls.clientKey}`] : [];
  const healthy = (ms: number): Promise<void> =>
    opts.tls || opts.netns ? waitHealthyEtcdctl(opts.netns ? ["ip", "netns", "exec", opts.netns] : [], endpoint, probeTls, opts.netns ? ` in netns ${opts.netns}` : "", ms) : waitHealthy(endpoint, ms);

  const server: EtcdServer = {
    endpoint,
    dataDir,
    process: spawnOne(),
    async kill(signal = "SIGKILL") {
      const p = server.process;
      if (p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        p.once("exit", () => resolve());
        p.kill(signal);
      });
    },
    async restart() {
      await server.kill();
      server.process = spawnOne();
      await healthy(10_000);
    },
    async stop() {
      await server.kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await healthy(10_000);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}
