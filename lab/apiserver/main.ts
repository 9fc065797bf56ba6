// The lab's API server as a process: `runApiServer` (etcd endpoints, a TCP address inside a lab
// namespace and a unix socket, TLS files, token, service CIDR) and `runRelay` (loopback TCP → the
// socket). `prepareApiServerFiles` makes the credentials and kubeconfigs an integration needs.
//
//   const files = prepareApiServerFiles(dir, { addresses: ["192.168.56.2"], relayPort: 6443 });
//   spawn: weft-lab agent apiserver --etcd http://… --listen 192.168.56.2:6443 --socket files.socket
//            --cert … --key … --ca … --token-file … --service-cidr 10.96.0.0/12 --log …   (in the namespace)
//   spawn: weft-lab agent relay --socket files.socket --port 6443                     (on the host)
//   kubectl --kubeconfig files.kubeconfig get pods
import { appendFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { join } from "node:path";
import { noop as noPolicy } from "cockatiel";
import { Etcd3 } from "etcd3";
import { makeApiCredentials, type ApiCredentials } from "./certs.js";
import { writeKubeconfig } from "./kubeconfig.js";
import type { KubeObject } from "./objects.js";
import { Registry } from "./registry.js";
import { startRelay } from "./relay.js";
import { findResource, type ResourceInfo } from "./resources.js";
import { requestHandler, type Log } from "./server.js";
import { ObjectStore } from "./store.js";
import { prepareForCreate } from "./strategies.js";

export interface ApiServerOptions {
  etcdEndpoints: string[];
  /** host:port inside the server's namespace ("[fd00::2]:6443" for IPv6), or undefined for the socket alone. */
  listen?: string;
  socketPath: string;
  certFile: string;
  keyFile: string;
  caFile: string;
  tokenFile: string;
  serviceCidr: string;
  logFile?: string;
  /** How often watches that allow bookmarks get one (kube: about a minute). */
  bookmarkIntervalMs?: number;
  /** kube's --min-request-timeout (default 1800). */
  minRequestTimeoutSeconds?: number;
}

export interface ApiServerFiles {
  credentials: ApiCredentials;
  socket: string;
  /** Through the relay on 127.0.0.1:relayPort, with the token. */
  kubeconfig: string;
  /** The same, with the admin's client certificate. */
  kubeconfigCert: string;
}

/** Credentials and kubeconfigs in `dir` for a server whose relay listens on 127.0.0.1:relayPort. */
export function prepareApiServerFiles(dir: string, o: { addresses?: string[]; relayPort: number }): ApiServerFiles {
  const credentials = makeApiCredentials(dir, o.addresses ?? []);
  const server = `https://127.0.0.1:${o.relayPort}`;
  return {
    credentials,
    socket: join(dir, "apiserver.sock"),
    kubeconfig: writeKubeconfig(join(dir, "kubeconfig"), { server, credentials }),
    kubeconfigCert: writeKubeconfig(join(dir, "kubeconfig-cert"), { server, credentials, auth: "certificate" }),
  };
}

export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

function logger(file: string | undefined): Log {
  return (msg, fields) => {
    const line = `${JSON.stringify({ time: new Date().toISOString(), component: "apiserver", msg, ...fields })}\n`;
    if (file) appendFileSync(file, line);
    else process.stdout.write(line);
  };
}

async function ensureNamespaces(store: ObjectStore): Promise<void> {
  const namespaces = findResource("", "v1", "namespaces") as ResourceInfo;
  for (const name of SYSTEM_NAMESPACES) {
    if (await store.tryGet(namespaces, undefined, name)) continue;
    const obj: KubeObject = prepareForCreate(namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
    await store.create(namespaces, obj).catch((err: { code?: number }) => (err.code === 409 ? undefined : Promise.reject(err)));
  }
}

function splitHostPort(listen: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen "${listen}": expected host:port`);
  return { host: m[1] ?? "", port: Number(m[2]) };
}

function listen(server: Server, target: { host: string; port: number } | string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    if (typeof target === "string") server.listen(target, resolve);
    else server.listen(target.port, target.host, resolve);
  });
}

/**
 * Idle connections kept for two minutes, as Go's servers keep them: a client that reuses a connection
 * the server has just closed (Node's default is 5 s idle) gets a reset for a request never read.
 */
function keptAlive(server: Server): Server {
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  return server;
}

/** Serves until the process is stopped; resolves once both listeners are up. */
export async function runApiServer(o: ApiServerOptions): Promise<{ close(): Promise<void> }> {
  const log = logger(o.logFile);
  // No cap on a reply's size (gRPC's default is 4 MiB, ~3,500 pods in one list), as kube-apiserver's
  // etcd client has none; and no circuit breaker per member (its default opens after 3 errors in a row and
  // then refuses every request for 5 s): one failed read must not refuse every client after it.
  const etcd = new Etcd3({ hosts: o.etcdEndpoints, grpcOptions: { "grpc.max_receive_message_length": -1 }, faultHandling: { host: () => noPolicy } });
  const store = new ObjectStore(etcd);
  await ensureNamespaces(store);
  const tls = { cert: readFileSync(o.certFile), key: readFileSync(o.keyFile), ca: readFileSync(o.caFile), requestCert: true, rejectUnauthorized: false };
  const token = readFileSync(o.tokenFile, "utf8").trim();
  const ctx = { registry: new Registry(store, o.serviceCidr), token, address: o.listen ?? "127.0.0.1:6443", log, bookmarkIntervalMs: o.bookmarkIntervalMs ?? 60_000, minRequestTimeoutSeconds: o.minRequestTimeoutSeconds ?? 1800 };
  const servers: Server[] = [];
  if (o.listen) {
    const tcp = keptAlive(createServer(tls, requestHandler(ctx)));
    await listen(tcp, splitHostPort(o.listen));
    servers.push(tcp);
  }
  if (existsSync(o.socketPath)) rmSync(o.socketPath);
  const unix = keptAlive(createServer(tls, requestHandler(ctx)));
  await listen(unix, o.socketPath);
  servers.push(unix);
  log("serving", { listen: o.listen, socket: o.socketPath, etcd: o.etcdEndpoints, serviceCidr: o.serviceCidr });
  return {
    close: async () => {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      etcd.close();
    },
  };
}

/** The relay as a process: serves until stopped. */
export async function runRelay(socketPath: string, port: number, logFile?: string): Promise<void> {
  const relay = await startRelay(socketPath, port);
  logger(logFile)("relaying", { from: `127.0.0.1:${relay.port}`, to: socketPath });
}
