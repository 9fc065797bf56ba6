// nginx's configuration for the Ingress objects of the ingress-nginx class, as ingress-nginx writes it
// in spirit: a server per host (TLS on 443 when the Ingress names a Secret for it, HTTP/2 by ALPN),
// Exact paths as `location =`, Prefix paths matched by whole path elements, the longest first (nginx's
// own rule for prefix locations), gRPC backends by grpc_pass, and everything no rule matches to the
// default backend (or a 404). Upstreams are the Services' ready endpoints. Pure: unit-tested as text.
import { nsOf, type EndpointSlice, type Service } from "../../proxy/model.js";
import { BACKEND_PROTOCOL, DEFAULT_CLASS, NGINX_CONTROLLER, type Ingress, type IngressBackend, type IngressClass } from "../apiserver/ingress-model.js";

export interface IngressInputs {
  ingresses: Ingress[];
  classes: IngressClass[];
  services: Service[];
  endpointSlices: EndpointSlice[];
  /** Where the certificate and key of a Secret ("namespace/name") were written, if it exists. */
  tlsFiles: (secret: string) => { cert: string; key: string } | undefined;
  /** Directory for nginx's pid file, logs and temp files. */
  prefix: string;
  /** The workers' user (the lab runs them as root: its state dir is private to root). */
  user?: string;
}

/** The Ingresses this controller serves: its class by name, or no class when its class is the default. */
export function servedIngresses(ingresses: Ingress[], classes: IngressClass[]): Ingress[] {
  const mine = classes.filter((c) => c.spec.controller === NGINX_CONTROLLER);
  const names = new Set(mine.map((c) => c.metadata.name));
  const isDefault = mine.some((c) => c.metadata.annotations?.[DEFAULT_CLASS] === "true");
  return ingresses.filter((i) => (i.spec.ingressClassName ? names.has(i.spec.ingressClassName) : isDefault));
}

interface Upstream {
  name: string;
  servers: string[];
}

/** The ready endpoints behind an Ingress backend (service + port by number or name). */
function upstreamFor(ns: string, backend: IngressBackend, inputs: IngressInputs): Upstream | undefined {
  const ref = backend.service;
  if (!ref) return undefined;
  const svc = inputs.services.find((s) => s.metadata.name === ref.name && nsOf(s.metadata) === ns);
  const port = svc?.spec.ports?.find((p) => (ref.port.number ? p.port === ref.port.number : p.name === ref.port.name));
  const name = `${ns}-${ref.name}-${ref.port.number ?? ref.port.name ?? ""}`;
  if (!svc || !port) return { name, servers: [] };
  const servers = inputs.endpointSlices
    .filter((s) => nsOf(s.metadata) === ns && s.metadata.labels?.["kubernetes.io/service-name"] === ref.name)
    .flatMap((s) => {
      const target = s.ports?.find((p) => (p.name ?? "") === (port.name ?? ""))?.port;
      return target ? s.endpoints.filter((e) => e.conditions.ready !== false).flatMap((e) => e.addresses.map((a) => (a.includes(":") ? `[${a}]:${target}` : `${a}:${target}`))) : [];
    });
  return { name, servers: [...new Set(servers)].sort() };
}

interface Route {
  path: string;
  exact: boolean;
  grpc: boolean;
  upstream?: Upstream;
}

function locationBlock(r: Route, emitted: Set<string>): string[] {
  const target = !r.upstream ? "return 404;" : !r.upstream.servers.length ? "return 503;" : r.grpc ? `grpc_pass grpc://${r.upstream.name};` : `proxy_pass http://${r.upstream.name};`;
  // An Exact path and a Prefix path may both ask for `= /foo`: the first emitted (Exact) keeps it.
  const body = (match: string): string[] => (emitted.has(match) ? [] : (emitted.add(match), [`    location ${match} {`, `      ${target}`, "    }"]));
  if (r.exact) return body(`= ${r.path}`);
  if (r.path === "/") return body("/");
  // Ingress Prefix matches whole path elements: /foo is /foo and /foo/…, never /foobar.
  const p = r.path.replace(/\/+$/, "");
  return [...body(`= ${p}`), ...body(`${p}/`)];
}

function defaultBackend(ingresses: Ingress[], inputs: IngressInputs): Route {
  const withDefault = [...ingresses].sort((a, b) => `${nsOf(a.metadata)}/${a.metadata.name}`.localeCompare(`${nsOf(b.metadata)}/${b.metadata.name}`)).find((i) => i.spec.defaultBackend);
  const upstream = withDefault?.spec.defaultBackend ? upstreamFor(nsOf(withDefault.metadata), withDefault.spec.defaultBackend, inputs) : undefined;
  return { path: "/", exact: false, grpc: false, ...(upstream ? { upstream } : {}) };
}

/** Exact paths first, then longer paths first: the order a reader expects nginx to match them in. */
const ordered = (routes: Map<string, Route>): Route[] => [...routes.values()].sort((a, b) => Number(b.exact) - Number(a.exact) || b.path.length - a.path.length || a.path.localeCompare(b.path));

export function renderNginxConf(inputs: IngressInputs): string {
  const ingresses = servedIngresses(inputs.ingresses, inputs.classes);
  const upstreams = new Map<string, Upstream>();
  const hosts = new Map<string, { routes: Map<string, Route>; tls?: { cert: string; key: string } }>();
  for (const ing of ingresses) {
    const ns = nsOf(ing.metadata);
    const grpc = /^GRPCS?$/i.test(ing.metadata.annotations?.[BACKEND_PROTOCOL] ?? "");
    for (const rule of ing.spec.rules ?? []) {
      const host = rule.host ?? "_";
      const entry = hosts.get(host) ?? { routes: new Map<string, Route>() };
      hosts.set(host, entry);
      for (const p of rule.http?.paths ?? []) {
        const exact = p.pathType === "Exact";
        const upstream = upstreamFor(ns, p.backend, inputs);
        if (upstream) upstreams.set(upstream.name, upstream);
        const key = `${exact ? "=" : ""}${p.path ?? "/"}`;
        // The first Ingress (by name) to claim a host+path keeps it, as ingress-nginx merges them.
        if (!entry.routes.has(key)) entry.routes.set(key, { path: p.path ?? "/", exact, grpc, ...(upstream ? { upstream } : {}) });
      }
    }
    for (const t of ing.spec.tls ?? []) {
      const files = t.secretName ? inputs.tlsFiles(`${ns}/${t.secretName}`) : undefined;
      for (const h of t.hosts ?? []) {
        const entry = hosts.get(h) ?? { routes: new Map<string, Route>() };
        if (files) entry.tls = files;
        hosts.set(h, entry);
      }
    }
  }
  const fallback = defaultBackend(ingresses, inputs);
  if (fallback.upstream) upstreams.set(fallback.upstream.name, fallback.upstream);
  const dir = inputs.prefix;
  const out = [
    "# Generated by the lab's ingress-nginx controller from the Ingress objects; rewritten on every change.",
    ...(inputs.user ? [`user ${inputs.user};`] : []),
    "worker_processes 1;",
    "daemon off;",
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    "events { worker_connections 1024; }",
    "http {",
    `  access_log ${dir}/access.log;`,
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${dir}/tmp-${t};`),
    "  client_max_body_size 0;",
    "  grpc_read_timeout 60s;",
    "  proxy_http_version 1.1;",
    '  proxy_set_header Connection "";',
    "  proxy_set_header Host $host;",
    "  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "  proxy_set_header X-Forwarded-Proto $scheme;",
  ];
  for (const u of [...upstreams.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    if (u.servers.length) out.push(`  upstream ${u.name} {`, ...u.servers.map((s) => `    server ${s};`), "    keepalive 16;", "  }");
  }
  // The default server: rules without a host, and every request no host matches.
  const anyHost = hosts.get("_");
  hosts.delete("_");
  const defaultRoutes = anyHost?.routes ?? new Map<string, Route>();
  if (!defaultRoutes.has("/")) defaultRoutes.set("/", fallback);
  // Each port on both families, as ingress-nginx listens: IPv6 clients reach it in a dual-stack or IPv6-only cluster.
  out.push("  server {", "    listen 80 default_server;", "    listen [::]:80 default_server;", "    listen 443 ssl http2 default_server;", "    listen [::]:443 ssl http2 default_server;", "    ssl_reject_handshake on;", "    server_name _;");
  // As ingress-nginx's default server: the readiness probe's /healthz.
  out.push("    location = /healthz {", "      access_log off;", '      return 200 "ok";', "    }");
  const emitted = new Set<string>();
  for (const r of ordered(defaultRoutes)) out.push(...locationBlock(r, emitted));
  out.push("  }");
  for (const [host, entry] of [...hosts].sort(([a], [b]) => a.localeCompare(b))) {
    out.push("  server {", "    listen 80;", "    listen [::]:80;", `    server_name ${host};`);
    if (entry.tls) out.push("    listen 443 ssl http2;", "    listen [::]:443 ssl http2;", `    ssl_certificate ${entry.tls.cert};`, `    ssl_certificate_key ${entry.tls.key};`);
    if (!entry.routes.has("/")) entry.routes.set("/", fallback);
    const emittedHere = new Set<string>();
    for (const r of ordered(entry.routes)) out.push(...locationBlock(r, emittedHere));
    out.push("  }");
  }
  out.push("}");
  return `${out.join("\n")}\n`;
}
