// Where the API server is and who we are to it: from a kubeconfig file (kubectl's format) or from a
// pod's service account (in-cluster). Everything is read here, once, so that a bad file is one clear
// error at start; only a token file is read again later, because bound service-account tokens rotate.
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { parse } from "yaml";
import { KubeConfigError } from "./errors.js";
import { SERVICE_ACCOUNT_DIR, type InClusterOptions } from "./in-cluster.js";

export { inClusterAvailable, SERVICE_ACCOUNT_DIR, type InClusterOptions } from "./in-cluster.js";

/** How the client proves who it is; logged at start, so an operator knows which credential is in use. */
export type IdentityKind = "token" | "token-file" | "client-certificate" | "in-cluster" | "anonymous";

/** A bearer token, read when a request is made (a file's is re-read as it rotates). */
export type TokenSource = () => string;

export interface KubeConnection {
  /** The API server's base URL, e.g. https://10.96.0.1:443. */
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecureSkipTlsVerify: boolean;
  /** The name to verify the server's certificate against when it is not the URL's host. */
  tlsServerName?: string;
  token?: TokenSource;
  identity: IdentityKind;
  /** The namespace the context names (in-cluster: the pod's), for callers that want a default. */
  namespace?: string;
  /** Where this came from, for logs: "kubeconfig /etc/x (context y)" or "in-cluster". */
  source: string;
}

/** client-go re-reads a token file once a minute: a rotated token is used within that. */
const TOKEN_REFRESH_MS = 60_000;

/**
 * A token kept in a file, re-read when the last read is older than `refreshMs`. A read that fails
 * after one has succeeded keeps the old token (the kubelet replaces the file by a rename; a failure
 * is a moment, and the old token is valid for a while yet).
 */
export function tokenFromFile(file: string, field: string, refreshMs = TOKEN_REFRESH_MS, now: () => number = Date.now): TokenSource {
  const read = (): string => {
    const t = readFileSync(file, "utf8").trim();
    if (!t) throw new KubeConfigError(file, field, "the token file is empty");
    return t;
  };
  let token: string;
  try {
    token = read();
  } catch (err) {
    if (err instanceof KubeConfigError) throw err;
    throw new KubeConfigError(file, field, `cannot read the token file: ${(err as Error).message}`);
  }
  let readAt = now();
  return () => {
    if (now() - readAt >= refreshMs) {
      readAt = now();
      try {
        token = read();
      } catch {
        // keep the token we have (see above)
      }
    }
    return token;
  };
}

interface Named<T> {
  name?: string;
  [k: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}
type Section = Record<string, unknown>;

function pick(list: unknown, name: string, kind: "clusters" | "users" | "contexts", file: string): Section {
  if (!Array.isArray(list)) throw new KubeConfigError(file, kind, "missing (a list of named entries)");
  const entry = (list as Named<Section>[]).find((e) => e?.name === name);
  if (!entry) throw new KubeConfigError(file, kind, `no entry named ${JSON.stringify(name)} (have: ${(list as Named<Section>[]).map((e) => e?.name).join(", ") || "none"})`);
  const inner = entry[kind.slice(0, -1) as "cluster" | "user" | "context"];
  if (!inner || typeof inner !== "object") throw new KubeConfigError(file, `${kind}[${name}]`, `has no ${kind.slice(0, -1)} section`);
  return inner as Section;
}

/** A string field, or undefined; anything else is an error naming the field. */
function str(s: Section, key: string, file: string, where: string): string | undefined {
  const v = s[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new KubeConfigError(file, `${where}.${key}`, `must be a string, got ${typeof v}`);
  return v;
}

/** Inline base64 data or a file (relative to the kubeconfig's directory), whichever the entry has. */
function material(s: Section, fileKey: string, file: string, where: string): Buffer | undefined {
  const data = str(s, `${fileKey}-data`, file, where);
  if (data) {
    const buf = Buffer.from(data, "base64");
    if (!buf.length) throw new KubeConfigError(file, `${where}.${fileKey}-data`, "is not base64 of anything");
    return buf;
  }
  const path = str(s, fileKey, file, where);
  if (!path) return undefined;
  const resolved = isAbsolute(path) ? path : join(dirname(file), path);
  try {
    return readFileSync(resolved);
  } catch (err) {
    throw new KubeConfigError(file, `${where}.${fileKey}`, `cannot read ${resolved}: ${(err as Error).message}`);
  }
}

/** Reads a kubeconfig: its current context, or `context` when given. */
export function loadKubeconfig(file: string, opts: { context?: string } = {}): KubeConnection {
  let doc: Section;
  try {
    doc = parse(readFileSync(file, "utf8")) as Section;
  } catch (err) {
    throw new KubeConfigError(file, "(file)", `cannot read it as YAML: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== "object") throw new KubeConfigError(file, "(file)", "is not a kubeconfig (no mapping at the top)");
  const contextName = opts.context ?? (doc["current-context"] as string | undefined);
  if (!contextName) throw new KubeConfigError(file, "current-context", "not set, and no context was named");
  const context = pick(doc.contexts, contextName, "contexts", file);
  const clusterName = str(context, "cluster", file, `contexts[${contextName}]`);
  const userName = str(context, "user", file, `contexts[${contextName}]`);
  if (!clusterName) throw new KubeConfigError(file, `contexts[${contextName}].cluster`, "missing");
  const cluster = pick(doc.clusters, clusterName, "clusters", file);
  const cw = `clusters[${clusterName}]`;
  const server = str(cluster, "server", file, cw);
  if (!server) throw new KubeConfigError(file, `${cw}.server`, "missing");
  if (!/^https?:\/\/[^/]+/.test(server)) throw new KubeConfigError(file, `${cw}.server`, `${JSON.stringify(server)} is not an http(s) URL`);
  const conn: KubeConnection = {
    server: server.replace(/\/+$/, ""),
    insecureSkipTlsVerify: cluster["insecure-skip-tls-verify"] === true,
    identity: "anonymous",
    source: `kubeconfig ${file} (context ${contextName})`,
  };
  const ca = material(cluster, "certificate-authority", file, cw);
  if (ca) conn.ca = ca;
  const serverName = str(cluster, "tls-server-name", file, cw);
  if (serverName) conn.tlsServerName = serverName;
  const namespace = str(context, "namespace", file, `contexts[${contextName}]`);
  if (namespace) conn.namespace = namespace;
  if (userName) Object.assign(conn, userCredentials(pick(doc.users, userName, "users", file), file, `users[${userName}]`));
  return conn;
}

function userCredentials(user: Section, file: string, uw: string): Partial<KubeConnection> {
  for (const unsupported of ["exec", "auth-provider", "username", "password"]) {
    if (user[unsupported] !== undefined) throw new KubeConfigError(file, `${uw}.${unsupported}`, "not supported: use a token, a token file or a client certificate");
  }
  const out: Partial<KubeConnection> = {};
  const cert = material(user, "client-certificate", file, uw);
  const key = material(user, "client-key", file, uw);
  if (Boolean(cert) !== Boolean(key)) throw new KubeConfigError(file, `${uw}.${cert ? "client-key" : "client-certificate"}`, "missing: a client certificate needs its key, and the key its certificate");
  if (cert && key) Object.assign(out, { cert, key, identity: "client-certificate" });
  const token = str(user, "token", file, uw);
  const tokenFile = str(user, "tokenFile", file, uw);
  if (token) {
    out.token = () => token;
    out.identity = "token";
  } else if (tokenFile) {
    out.token = tokenFromFile(isAbsolute(tokenFile) ? tokenFile : join(dirname(file), tokenFile), `${uw}.tokenFile`);
    out.identity = "token-file";
  }
  return out;
}

/** The pod's service account, as client-go's InClusterConfig reads it. */
export function inClusterConfig(opts: InClusterOptions = {}): KubeConnection {
  const env = opts.env ?? process.env;
  const dir = opts.dir ?? SERVICE_ACCOUNT_DIR;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) throw new KubeConfigError("(environment)", host ? "KUBERNETES_SERVICE_PORT" : "KUBERNETES_SERVICE_HOST", "not set: not running in a pod, or the pod's service links are off");
  const caFile = join(dir, "ca.crt");
  let ca: Buffer;
  try {
    ca = readFileSync(caFile);
  } catch (err) {
    throw new KubeConfigError(caFile, "ca.crt", `cannot read the cluster's CA: ${(err as Error).message}`);
  }
  const conn: KubeConnection = {
    server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    ca,
    insecureSkipTlsVerify: false,
    token: tokenFromFile(join(dir, "token"), "token", opts.tokenRefreshMs, opts.now),
    identity: "in-cluster",
    source: "in-cluster",
  };
  const nsFile = join(dir, "namespace");
  if (existsSync(nsFile)) conn.namespace = readFileSync(nsFile, "utf8").trim();
  return conn;
}
