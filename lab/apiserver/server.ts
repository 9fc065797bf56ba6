// The HTTP side of the lab's API server: authentication, discovery, and the verbs on resources, with
// kube's status codes, Status bodies, Tables and watch streams. One handler serves every listener.
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { authenticate } from "./auth.js";
import { apiGroup, apiGroupList, apiResourceList, apiVersions, openApiV2Json, openApiV2Protobuf, VERSION } from "./discovery.js";
import { ApiError, badRequest, methodNotSupported, notFoundPath } from "./errors.js";
import { isObject, type KubeObject } from "./objects.js";
import { PATCH_TYPES, type Registry } from "./registry.js";
import { parseResourcePath, type ResourceRequest } from "./routes.js";
import { apiVersionOf } from "./resources.js";
import { parseFieldSelector, parseLabelSelector, type Selector } from "./selectors.js";
import { toTable, wantsTable } from "./tables.js";
import { serveWatch } from "./watch.js";

export type Log = (msg: string, fields?: Record<string, unknown>) => void;

export interface ServerContext {
  registry: Registry;
  token: string;
  /** Where clients reach the server (APIVersions' serverAddressByClientCIDRs). */
  address: string;
  log: Log;
  bookmarkIntervalMs: number;
  /** kube's --min-request-timeout: a watch without timeoutSeconds ends after min…2×min seconds. */
  minRequestTimeoutSeconds: number;
}

const MAX_BODY = 3 * 1024 * 1024;

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), "Cache-Control": "no-cache, private" });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseBody(text: string, contentType: string): unknown {
  if (/protobuf/.test(contentType)) throw new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
  try {
    return /yaml/.test(contentType) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw badRequest(`error decoding request body: ${(err as Error).message}`);
  }
}

/** The field manager: the query's, else the user agent's program name, as kube derives it. */
function managerOf(req: IncomingMessage, q: URLSearchParams): string {
  return q.get("fieldManager") ?? (req.headers["user-agent"] ?? "unknown").split("/")[0] ?? "unknown";
}

function listKind(kind: string): string {
  return `${kind}List`;
}

async function handleResource(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, rr: ResourceRequest, q: URLSearchParams): Promise<void> {
  const { resource: r, namespace, name, subresource } = rr;
  const method = req.method ?? "GET";
  const table = wantsTable(req.headers.accept);
  const dryRun = q.get("dryRun") === "All";
  const contentType = req.headers["content-type"] ?? "application/json";
  if (subresource && !r.subresources.includes(subresource)) throw notFoundPath();
  const part = subresource === "status" ? "status" : "main";
  const write = { manager: managerOf(req, q), dryRun };

  if (method === "GET" && name) {
    const obj = await ctx.registry.store.get(r, namespace, name);
    return send(res, 200, table ? toTable(r, [obj], obj.metadata.resourceVersion) : obj);
  }
  if (method === "GET") {
    const matches: Selector = ((l, f) => (o: KubeObject) => l(o) && f(o))(parseLabelSelector(q.get("labelSelector")), parseFieldSelector(q.get("fieldSelector")));
    if (["1", "true"].includes((q.get("watch") ?? "").toLowerCase())) {
      const timeoutSeconds = Number(q.get("timeoutSeconds") ?? ctx.minRequestTimeoutSeconds * (1 + Math.random()));
      return serveWatch(ctx.registry.store, { resource: r, namespace, resourceVersion: q.get("resourceVersion") ?? undefined, matches, bookmarks: (q.get("allowWatchBookmarks") ?? "").toLowerCase() === "true", timeoutSeconds, table, bookmarkIntervalMs: ctx.bookmarkIntervalMs }, res, (cb) => res.on("close", cb));
    }
    const rv = q.get("resourceVersion");
    const exact = q.get("resourceVersionMatch") === "Exact" && rv && rv !== "0";
    const listed = await ctx.registry.store.list(r, namespace, exact ? rv : undefined);
    const items = listed.items.filter(matches);
    if (table) return send(res, 200, toTable(r, items, listed.resourceVersion));
    return send(res, 200, { kind: listKind(r.kind), apiVersion: apiVersionOf(r), metadata: { resourceVersion: listed.resourceVersion }, items });
  }
  if (method === "POST") {
    const body = parseBody(await readBody(req), contentType);
    if (subresource === "binding" && name) {
      await ctx.registry.bind(namespace ?? "", name, isObject(body) ? body : {});
      return send(res, 201, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 });
    }
    if (name) throw methodNotSupported(r, "create");
    const created = await ctx.registry.create(r, namespace, body as KubeObject, write);
    return send(res, 201, created);
  }
  if (method === "PUT" && name) {
    const body = parseBody(await readBody(req), contentType);
    return send(res, 200, await ctx.registry.update(r, namespace, name, body as KubeObject, part, write));
  }
  if (method === "PATCH" && name) {
    const text = await readBody(req);
    const type = contentType.split(";")[0]?.trim() ?? "";
    const body = type === PATCH_TYPES.apply ? parseBody(text, "application/yaml") : parseBody(text, "application/json");
    const { obj, created } = await ctx.registry.patch(r, namespace, name, contentType, body, part, { ...write, manager: type === PATCH_TYPES.apply ? (q.get("fieldManager") ?? "") : write.manager, force: q.get("force") === "true" });
    return send(res, created ? 201 : 200, obj);
  }
  if (method === "DELETE") {
    const text = await readBody(req);
    const opts = text.trim() ? (parseBody(text, "application/json") as Record<string, unknown>) : {};
    const pre = isObject(opts.preconditions) ? opts.preconditions : {};
    const graceText = q.get("gracePeriodSeconds");
    const grace = graceText !== null ? Number(graceText) : typeof opts.gracePeriodSeconds === "number" ? opts.gracePeriodSeconds : undefined;
    const delOpts = { ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}), ...(typeof pre.resourceVersion === "string" ? { resourceVersion: pre.resourceVersion } : {}), ...(typeof pre.uid === "string" ? { uid: pre.uid } : {}), dryRun };
    if (name) return send(res, 200, await ctx.registry.delete(r, namespace, name, delOpts));
    const matches = ((l: Selector, f: Selector) => (o: KubeObject) => l(o) && f(o))(parseLabelSelector(q.get("labelSelector")), parseFieldSelector(q.get("fieldSelector")));
    const listed = await ctx.registry.store.list(r, namespace);
    const deleted: KubeObject[] = [];
    for (const o of listed.items.filter(matches)) deleted.push(await ctx.registry.delete(r, o.metadata.namespace, o.metadata.name ?? "", delOpts).catch((err: unknown) => (err instanceof ApiError && err.code === 404 ? o : Promise.reject(err))));
    return send(res, 200, { kind: listKind(r.kind), apiVersion: apiVersionOf(r), metadata: { resourceVersion: listed.resourceVersion }, items: deleted });
  }
  throw methodNotSupported(r, method.toLowerCase());
}

function handleNonResource(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, path: string): boolean {
  const p = path.replace(/\/$/, "");
  if (p === "/version") return send(res, 200, VERSION), true;
  if (p === "/api") return send(res, 200, apiVersions(ctx.address)), true;
  if (p === "/apis") return send(res, 200, apiGroupList()), true;
  if (p === "/openapi/v2") {
    if (/protobuf/.test(req.headers.accept ?? "")) {
      const pb = openApiV2Protobuf();
      res.writeHead(200, { "Content-Type": "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", "Content-Length": pb.length });
      res.end(pb);
    } else send(res, 200, openApiV2Json());
    return true;
  }
  const core = /^\/api\/(v1)$/.exec(p);
  const named = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(p);
  const doc = core ? apiResourceList("", core[1] ?? "") : named?.[2] ? apiResourceList(named[1] ?? "", named[2]) : named ? apiGroup(named[1] ?? "") : undefined;
  if (doc) return send(res, 200, doc), true;
  return false;
}

export function requestHandler(ctx: ServerContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = performance.now();
    const url = new URL(req.url ?? "/", "https://apiserver");
    const done = (code: number): void => ctx.log("request", { method: req.method, path: url.pathname, query: url.search, code, ms: Math.round(performance.now() - started) });
    void (async () => {
      if (["/healthz", "/livez", "/readyz"].includes(url.pathname)) {
        res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" });
        return res.end("ok");
      }
      if (!authenticate(req, ctx.token)) throw new ApiError(401, "Unauthorized", "Unauthorized");
      if (handleNonResource(ctx, req, res, url.pathname)) return;
      const rr = parseResourcePath(url.pathname);
      if (!rr || !("resource" in rr)) throw notFoundPath();
      await handleResource(ctx, req, res, rr, url.searchParams);
    })().then(
      () => done(res.statusCode),
      (err: unknown) => {
        const e = err instanceof ApiError ? err : new ApiError(500, "InternalError", `Internal error occurred: ${(err as Error)?.message ?? String(err)}`);
        if (e.code === 500) ctx.log("internal error", { path: url.pathname, error: (err as Error)?.stack ?? String(err) });
        if (!res.headersSent) send(res, e.code, e.toStatus());
        else res.end();
        done(e.code);
      },
    );
  };
}
