// Requests to the Kubernetes API: JSON in and out over one keep-alive agent, errors as KubeApiError
// (the server's Status) or KubeRequestError (no answer), and watches as a stream of events.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { checkServerIdentity } from "node:tls";
import type { KubeConnection } from "./config.js";
import { KubeApiError, KubeRequestError, type KubeStatus } from "./errors.js";
import { resourcePath, type KubeList, type KubeObject, type ResourceType } from "./resources.js";
import { WatchEventParser, WatchFrameError, type WatchEvent } from "./watch-stream.js";

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  signal?: AbortSignal;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  /** The server ends the watch after this long; the client gives up 30 s after that. */
  timeoutSeconds?: number;
  allowWatchBookmarks?: boolean;
  /** Aborting ends the watch cleanly (the stream just ends). */
  signal?: AbortSignal;
}

export type PatchType = "merge" | "strategic-merge" | "json";
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  "strategic-merge": "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
};

interface RequestSpec {
  method: string;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface KubeClientOptions {
  /** A request (not a watch) that takes longer than this fails: a hung server must not hang its caller. */
  requestTimeoutMs?: number;
  userAgent?: string;
}

export class KubeClient {
  private readonly agent: HttpAgent;
  private readonly https: boolean;
  private readonly base: URL;
  private readonly requestTimeoutMs: number;
  private readonly userAgent: string;

  constructor(
    readonly conn: KubeConnection,
    opts: KubeClientOptions = {},
  ) {
    this.base = new URL(conn.server);
    this.https = this.base.protocol === "https:";
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.userAgent = opts.userAgent ?? "weft";
    const serverName = conn.tlsServerName;
    this.agent = this.https
      ? new HttpsAgent({
          keepAlive: true,
          ...(conn.ca ? { ca: conn.ca } : {}),
          ...(conn.cert && conn.key ? { cert: conn.cert, key: conn.key } : {}),
          rejectUnauthorized: !conn.insecureSkipTlsVerify,
          // tls-server-name: the name sent and verified, when the URL's host is an address the certificate does not name.
          ...(serverName ? { servername: serverName, checkServerIdentity: (_host: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(serverName, cert) } : {}),
        })
      : new HttpAgent({ keepAlive: true });
  }

  get<T extends KubeObject>(type: ResourceType, name: string, namespace?: string): Promise<T> {
    return this.json<T>({ method: "GET", path: resourcePath(type, namespace, name) });
  }

  list<T extends KubeObject>(type: ResourceType, opts: ListOptions = {}): Promise<KubeList<T>> {
    const { namespace, signal, ...q } = opts;
    return this.json<KubeList<T>>({ method: "GET", path: resourcePath(type, namespace), query: { ...q }, ...(signal ? { signal } : {}) });
  }

  create<T extends KubeObject>(type: ResourceType, obj: T, namespace = obj.metadata?.namespace): Promise<T> {
    return this.json<T>({ method: "POST", path: resourcePath(type, namespace), body: obj });
  }

  /** A full replace; the object's resourceVersion makes it conditional (409 Conflict when stale). */
  update<T extends KubeObject>(type: ResourceType, obj: T): Promise<T> {
    return this.json<T>({ method: "PUT", path: resourcePath(type, obj.metadata?.namespace, this.nameOf(obj)), body: obj });
  }

  patch<T extends KubeObject>(type: ResourceType, name: string, patch: unknown, opts: { namespace?: string; patchType?: PatchType } = {}): Promise<T> {
    return this.json<T>({ method: "PATCH", path: resourcePath(type, opts.namespace, name), body: patch, contentType: PATCH_CONTENT_TYPES[opts.patchType ?? "merge"] });
  }

  /** Server-side apply: the fields `fieldManager` sets become its own; `force` takes them from other managers. */
  apply<T extends KubeObject>(type: ResourceType, obj: T, opts: { fieldManager: string; force?: boolean }): Promise<T> {
    const path = resourcePath(type, obj.metadata?.namespace, this.nameOf(obj));
    return this.json<T>({ method: "PATCH", path, body: obj, contentType: "application/apply-patch+yaml", query: { fieldManager: opts.fieldManager, force: opts.force } });
  }

  delete(type: ResourceType, name: string, namespace?: string): Promise<KubeObject> {
    return this.json<KubeObject>({ method: "DELETE", path: resourcePath(type, namespace, name) });
  }

  /**
   * Opens a watch; resolves once the server has accepted it (a refusal throws KubeApiError, no answer
   * KubeRequestError). Its events then come as they arrive; the loop over them just finishes when the
   * server closes the watch (timeoutSeconds), the connection drops, or `signal` aborts. A garbled
   * stream throws WatchFrameError.
   */
  async watch<T extends KubeObject>(type: ResourceType, opts: WatchOptions = {}): Promise<AsyncGenerator<WatchEvent<T>>> {
    const { namespace, signal, ...q } = opts;
    const timeoutMs = opts.timeoutSeconds ? (opts.timeoutSeconds + 30) * 1000 : 0;
    const res = await this.open({ method: "GET", path: resourcePath(type, namespace), query: { ...q, watch: true }, ...(signal ? { signal } : {}), timeoutMs });
    return watchEvents<T>(res);
  }

  /** Frees the agent's idle sockets: nothing keeps the process alive after its last request. */
  close(): void {
    this.agent.destroy();
  }

  async request<T>(spec: RequestSpec): Promise<T> {
    return this.json<T>(spec);
  }

  private nameOf(obj: KubeObject): string {
    const name = obj.metadata?.name;
    if (!name) throw new Error(`${obj.kind ?? "object"}: metadata.name is needed`);
    return name;
  }

  private async json<T>(spec: RequestSpec): Promise<T> {
    let res: IncomingMessage;
    try {
      res = await this.open({ timeoutMs: this.requestTimeoutMs, ...spec });
    } catch (err) {
      // A kept-alive connection the server closed as it was reused: the request was never read (Go's
      // client retries these too). Once, on a fresh connection.
      if (!isStaleConnection(err)) throw err;
      res = await this.open({ timeoutMs: this.requestTimeoutMs, ...spec });
    }
    const text = await readBody(res, describe(spec), this.conn.server);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new KubeRequestError(describe(spec), this.conn.server, new Error(`answered ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`));
    }
  }

  /** Sends the request; resolves with a 2xx response, rejects with the server's Status otherwise. */
  private open(spec: RequestSpec): Promise<IncomingMessage> {
    const url = new URL(this.base.pathname.replace(/\/$/, "") + spec.path, this.base);
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined && v !== "") url.searchParams.set(k, String(v));
    const what = describe(spec);
    const headers: Record<string, string> = { accept: "application/json", "user-agent": this.userAgent };
    const token = this.conn.token?.();
    if (token) headers.authorization = `Bearer ${token}`;
    const body = spec.body === undefined ? undefined : Buffer.from(JSON.stringify(spec.body));
    if (body) Object.assign(headers, { "content-type": spec.contentType ?? "application/json", "content-length": String(body.length) });
    const send = this.https ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, { method: spec.method, headers, agent: this.agent, ...(spec.signal ? { signal: spec.signal } : {}) }, (res) => {
        const code = res.statusCode ?? 0;
        if (code >= 200 && code < 300) return resolve(res);
        readBody(res, what, this.conn.server).then((text) => reject(new KubeApiError(what, code, statusFrom(text, code))), reject);
      });
      if (spec.timeoutMs) {
        const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${spec.timeoutMs} ms`)), spec.timeoutMs);
        // Cleared when the exchange is over (a watch's deadline must not outlive it, nor keep the process up).
        req.once("close", () => clearTimeout(deadline));
        deadline.unref();
      }
      req.once("error", (err) => reject(new KubeRequestError(what, this.conn.server, err)));
      req.end(body);
    });
  }
}

async function* watchEvents<T extends KubeObject>(res: IncomingMessage): AsyncGenerator<WatchEvent<T>> {
  const parser = new WatchEventParser();
  try {
    for await (const chunk of res) for (const e of parser.push(chunk as Buffer)) yield e as WatchEvent<T>;
    for (const e of parser.end()) yield e as WatchEvent<T>;
  } catch (err) {
    // A dropped connection, a client deadline or an abort ends the watch; only garbage is an error.
    if (err instanceof WatchFrameError) throw err;
  } finally {
    res.destroy();
  }
}

/** A reset or hang-up before any answer: the mark of a reused connection the server had just closed. */
function isStaleConnection(err: unknown): boolean {
  if (!(err instanceof KubeRequestError)) return false;
  const cause = err.cause as NodeJS.ErrnoException | undefined;
  return cause?.code === "ECONNRESET" || /socket hang up/.test(cause?.message ?? "");
}

function describe(spec: RequestSpec): string {
  return `${spec.method} ${spec.path}`;
}

function readBody(res: IncomingMessage, what: string, server: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.once("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.once("error", (err) => reject(new KubeRequestError(what, server, err)));
  });
}

/** The server's Status from an error body; a proxy's HTML or plain text becomes the message. */
function statusFrom(text: string, code: number): KubeStatus {
  try {
    const s = JSON.parse(text) as KubeStatus;
    if (s && typeof s === "object" && (s.kind === "Status" || s.reason || s.message)) return s;
  } catch {
    // not JSON
  }
  return { kind: "Status", status: "Failure", code, message: text.trim().slice(0, 300) || `HTTP ${code}` };
}
