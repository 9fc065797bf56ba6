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

export async function startEtcd(opts: { host?: string } = {}): Promise<EtcdServer> {
  const host = opts.host ?? "127.0.0.1";
  const clientPort = await freePort();
  const peerPort = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "weft-etcd-"));
  const endpoint = `http://${host}:${clientPort}`;
  const args = [
    "--name", "weft-test",
    "--data-dir", dataDir,
    "--listen-client-urls", endpoint,
    "--advertise-client-urls", endpoint,
    "--listen-peer-urls", `http://${host}:${peerPort}`,
    "--initial-advertise-peer-urls", `http://${host}:${peerPort}`,
    "--initial-cluster", `weft-test=http://${host}:${peerPort}`,
    "--log-level", "error",
  ];
  const spawnOne = (): ChildProcess => spawn("etcd", args, { stdio: ["ignore", "ignore", "pipe"] });

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
      await waitHealthy(endpoint, 10_000);
    },
    async stop() {
      await server.kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await waitHealthy(endpoint, 10_000);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}
