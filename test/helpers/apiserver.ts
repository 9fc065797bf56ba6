// The lab's API server for a test file: etcd and the server inside a throwaway namespace, the relay on
// the host's loopback (in this process), kubeconfigs in a temp dir; everything removed by stop().
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { prepareApiServerFiles, type ApiServerFiles } from "../../lab/apiserver/main.js";
import { freePort, startEtcd, type EtcdServer } from "./etcd.js";
import { NetnsPool } from "./netns.js";

export const ROOT = resolve(import.meta.dirname, "../..");
export const KUBECTL = "/usr/bin/kubectl";
export const KUBECTL_OLD = join(ROOT, "dist/tools/kubectl-1.20/usr/bin/kubectl");

export interface TestApiServer {
  netns: string;
  files: ApiServerFiles;
  dir: string;
  port: number;
  token: string;
  etcd: EtcdServer;
  logFile: string;
  kubectl(args: string[], opts?: { old?: boolean; input?: string; timeoutMs?: number }): { code: number; out: string; err: string };
  api(method: string, path: string, body?: unknown, opts?: { contentType?: string; token?: string | null; accept?: string }): Promise<{ code: number; body: unknown; text: string }>;
  etcdctl(...args: string[]): string;
  restartServer(): Promise<void>;
  stop(): Promise<void>;
}

function ensureBuilt(): void {
  if (!existsSync(join(ROOT, "dist/lab/weft-lab.cjs"))) execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "ignore" });
}

export async function startTestApiServer(extraArgs: string[] = []): Promise<TestApiServer> {
  ensureBuilt();
  const pool = new NetnsPool("as");
  const dir = mkdtempSync(join(tmpdir(), "weft-apiserver-"));
  let etcd: EtcdServer | undefined;
  let server: ChildProcess | undefined;
  // The relay is a process of its own: kubectl runs synchronously in this one.
  let relay: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (server?.pid && server.exitCode === null) {
      const p = server;
      await new Promise<void>((r) => {
        p.once("exit", () => r());
        p.kill("SIGKILL");
      });
    }
    if (relay?.pid && relay.exitCode === null) {
      const p = relay;
      await new Promise<void>((r) => {
        p.once("exit", () => r());
        p.kill("SIGKILL");
      });
    }
    await etcd?.stop();
    pool.cleanup();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const netns = pool.create();
    etcd = await startEtcd({ netns });
    const port = await freePort();
    relay = spawn(process.execPath, [join(ROOT, "dist/lab/weft-lab.cjs"), "agent", "relay", "--", "--socket", join(dir, "apiserver.sock"), "--port", String(port)], { stdio: "ignore" });
    const files = prepareApiServerFiles(dir, { relayPort: port });
    const logFile = join(dir, "apiserver.log");
    const spawnServer = (): ChildProcess => {
      const f = files.credentials;
      const args = ["agent", "apiserver", "--", "--etcd", etcd?.endpoint ?? "", "--listen", "127.0.0.1:6443", "--socket", files.socket, "--cert", f.serverCert, "--key", f.serverKey, "--ca", f.caCert, "--token-file", f.tokenFile, "--service-cidr", "10.96.0.0/12,fd00:10:96::/112", "--log", logFile, ...extraArgs];
      return spawn("nsenter", [`--net=/var/run/netns/${netns}`, process.execPath, join(ROOT, "dist/lab/weft-lab.cjs"), ...args], { stdio: ["ignore", "ignore", "inherit"] });
    };
    const token = readFileSync(files.credentials.tokenFile, "utf8").trim();
    const ca = readFileSync(files.credentials.caCert);
    const api: TestApiServer["api"] = (method, path, body, opts = {}) =>
      new Promise((resolveReq, reject) => {
        const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
        const headers: Record<string, string> = { "Content-Type": opts.contentType ?? "application/json", ...(opts.accept ? { Accept: opts.accept } : {}) };
        if (opts.token !== null) headers.Authorization = `Bearer ${opts.token ?? token}`;
        const req = request({ host: "127.0.0.1", port, path, method, ca, headers }, (res) => {
          let data = "";
          res.on("data", (c: Buffer) => (data += c.toString()));
          res.on("end", () => {
            let parsed: unknown = data;
            try {
              parsed = JSON.parse(data);
            } catch {
              // a watch stream or plain text
            }
            resolveReq({ code: res.statusCode ?? 0, body: parsed, text: data });
          });
        });
        req.on("error", reject);
        req.end(text);
      });
    const waitReady = async (): Promise<void> => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const ok = await api("GET", "/api/v1/namespaces/default").then((r) => r.code === 200, () => false);
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`the API server did not answer in 15 s; log: ${existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-2000) : "none"}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    server = spawnServer();
    await waitReady();
    const t: TestApiServer = {
      netns,
      files,
      dir,
      port,
      token,
      etcd,
      logFile,
      kubectl: (args, opts = {}) => {
        const r = spawnSync(opts.old ? KUBECTL_OLD : KUBECTL, ["--kubeconfig", files.kubeconfig, ...args], { encoding: "utf8", input: opts.input, timeout: opts.timeoutMs ?? 20_000, cwd: ROOT });
        return { code: r.status ?? -1, out: r.stdout ?? "", err: r.stderr ?? "" };
      },
      api,
      etcdctl: (...args) => execFileSync("ip", ["netns", "exec", netns, "etcdctl", `--endpoints=${etcd?.endpoint}`, ...args], { encoding: "utf8" }),
      restartServer: async () => {
        const p = server;
        if (p) await new Promise<void>((r) => (p.exitCode !== null ? r() : (p.once("exit", () => r()), p.kill("SIGKILL"))));
        server = spawnServer();
        await waitReady();
      },
      stop,
    };
    return t;
  } catch (err) {
    await stop();
    throw err;
  }
}
