// What a lab pod's container runs, chosen by its image as a cluster would: CoreDNS images serve the
// cluster DNS; every other image serves the lab's test server, modelled on Kubernetes' e2e image
// (agnhost netexec): on each TCP containerPort HTTP/1.1 with /hostname, /clientip ("addr:port", "[addr]:port"
// for IPv6, as agnhost answers), /echo?msg=, /healthz;
// on ports named h2c… the same over HTTP/2 cleartext, on ports named grpc… gRPC (grpc.health.v1.Health
// and an echo service), on ports named tcp… a TCP echo; on each UDP port netexec's UDP commands
// ("hostname", "clientip", "echo DATA"; anything else gets the pod's name); on SCTP ports an answer
// naming the pod (see sctp.ts). A container whose command or args name an agnhost subcommand of the
// upstream policy suite (serve-hostname, porter) runs that instead (agnhost.ts). hello-kubernetes images answer "/" with a page naming pod and node.
import { createSocket } from "node:dgram";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createH2cServer, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import { createServer as createTcpServer } from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { ContainerPort } from "../../proxy/model.js";
import { buildZone } from "../../proxy/dns-records.js";
import { hostPort } from "../../proxy/family-syntax.js";
import { serveDns } from "../../proxy/dns-server.js";
import { watchClusterState, watchClusterStateFromApi } from "../../proxy/state-source.js";
import { serveAgnhost } from "./agnhost.js";
import { parseAgnhost } from "./agnhost-args.js";

export interface ContainerSpec {
  pod: string;
  namespace: string;
  node: string;
  image: string;
  ports: ContainerPort[];
  /** A JSON file of the cluster's objects (a pod run alone), or "" when `kubeconfig` names the API server. */
  clusterState: string;
  /** The API server to watch (cluster DNS, the ingress controller). */
  kubeconfig?: string;
  /** Where a controller pod may keep its files (the lab's state dir). */
  workDir?: string;
  /** A dual-stack lab's pod: every server listens on IPv6 too (one socket each, IPv4 mapped). */
  dualStack?: boolean;
  /** Each container's command, args and env, where a pod gives them: agnhost subcommands (agnhost.ts) run as given. */
  containers?: ContainerRun[];
}

export interface ContainerRun {
  name: string;
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  ports: ContainerPort[];
}

const log = (msg: string, fields: object = {}): void => console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...fields }));

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function httpHandler(spec: ContainerSpec): Handler {
  const hello = /hello-kubernetes/.test(spec.image);
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://pod");
    const client = hostPort((req.socket.remoteAddress ?? "").replace(/^::ffff:/, ""), req.socket.remotePort ?? 0);
    const text = (body: string, type = "text/plain"): void => void res.writeHead(200, { "content-type": type }).end(body);
    switch (url.pathname) {
      case "/hostname":
        return text(spec.pod);
      case "/clientip":
        return text(client);
      case "/echo":
        return text(url.searchParams.get("msg") ?? "");
      case "/healthz":
        return text("ok");
      default:
        // hello-kubernetes answers every path with its page (behind an Ingress, /one and /two reach it as they are).
        if (hello) return text(`<!DOCTYPE html><html><head><title>Hello Kubernetes!</title></head><body><h1>Hello world!</h1><table><tr><th>pod:</th><td>${spec.pod}</td></tr><tr><th>node:</th><td>${spec.node}</td></tr><tr><th>path:</th><td>${url.pathname}</td></tr></table></body></html>\n`, "text/html");
        if (url.pathname === "/") return text(`${spec.pod}\n`);
        res.writeHead(404).end("not found\n");
    }
  };
}

function udp(spec: ContainerSpec, port: number): void {
  const sock = createSocket(spec.dualStack ? "udp6" : "udp4");
  sock.on("message", (msg, rinfo) => {
    const text = msg.subarray(0, 8).toString();
    const reply = text.startsWith("echo ") ? msg.subarray(5) : text === "clientip" ? hostPort(rinfo.address.replace(/^::ffff:/, ""), rinfo.port) : spec.pod;
    sock.send(reply, rinfo.port, rinfo.address);
  });
  sock.bind(port, spec.dualStack ? "::" : "0.0.0.0");
}

// Messages travel as raw protobuf bytes: Health answers {status: SERVING} (field 1 = 1); Echo returns
// what it was sent, Stream sends it back 3 times, and Hostname answers the pod's name (as netexec's
// /hostname does over HTTP), so a client sees which endpoint a Service sent it to.
const raw = { serialize: (b: Buffer): Buffer => b, deserialize: (b: Buffer): Buffer => b };
/** HealthCheckResponse with field 1 (status) = 1: SERVING. */
export const SERVING = Buffer.from([0x08, 0x01]);
export const GRPC_METHODS = { health: "/grpc.health.v1.Health/Check", echo: "/weft.lab.Echo/Echo", hostname: "/weft.lab.Echo/Hostname", stream: "/weft.lab.Echo/Stream" } as const;
const unary = (path: string) => ({ path, requestStream: false, responseStream: false, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize });

function grpcServer(port: number, pod: string, dualStack: boolean): void {
  const server = new grpc.Server();
  server.addService({ Check: unary(GRPC_METHODS.health) }, { Check: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, SERVING) });
  server.addService(
    {
      Echo: unary(GRPC_METHODS.echo),
      Hostname: unary(GRPC_METHODS.hostname),
      Stream: { path: GRPC_METHODS.stream, requestStream: false, responseStream: true, requestSerialize: raw.serialize, requestDeserialize: raw.deserialize, responseSerialize: raw.serialize, responseDeserialize: raw.deserialize },
    },
    {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, call.request),
      Hostname: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(pod)),
      Stream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        for (let i = 0; i < 3; i++) call.write(call.request);
        call.end();
      },
    },
  );
  server.bindAsync(dualStack ? `[::]:${port}` : `0.0.0.0:${port}`, grpc.ServerCredentials.createInsecure(), (err) => err && log("grpc bind failed", { port, error: err.message }));
}

/** Runs the containers that name an agnhost subcommand; returns the ports of the others, which the test server serves. */
function agnhostContainers(spec: ContainerSpec): ContainerPort[] {
  if (!spec.containers?.some((c) => c.command?.length || c.args?.length)) return spec.ports;
  const rest: ContainerPort[] = [];
  for (const c of spec.containers) {
    const cmd = parseAgnhost(c.command, c.args, c.env);
    if (cmd) serveAgnhost(cmd, { pod: spec.pod, dualStack: spec.dualStack === true }, log);
    else rest.push(...c.ports);
  }
  return rest;
}

export function runContainer(spec: ContainerSpec): void {
  if (/coredns/.test(spec.image)) {
    const dns = serveDns(53, (err) => log("dns error", { error: err.message }));
    const onState = (state: Parameters<typeof buildZone>[0]): void => dns.setZone(buildZone(state));
    const onError = (err: Error): void => log("cannot read the cluster state", { error: err.message });
    if (spec.kubeconfig) watchClusterStateFromApi(spec.kubeconfig, onState, onError);
    else watchClusterState(spec.clusterState, onState, onError);
    log("serving cluster DNS", { pod: spec.pod, port: 53 });
    return;
  }
  if (/ingress-nginx\/controller/.test(spec.image)) {
    void import("./ingress-nginx.js").then(({ runIngressNginx }) => runIngressNginx(spec.kubeconfig ?? "", spec.workDir ?? "/tmp", `${spec.namespace}/${spec.pod}`, log));
    return;
  }
  const sctpPorts: number[] = [];
  for (const p of agnhostContainers(spec)) {
    const listen = { port: p.containerPort, host: spec.dualStack ? "::" : "0.0.0.0" };
    if ((p.protocol ?? "TCP") === "UDP") udp(spec, p.containerPort);
    else if (p.protocol === "SCTP") sctpPorts.push(p.containerPort);
    else if (p.name?.startsWith("grpc")) grpcServer(p.containerPort, spec.pod, spec.dualStack === true);
    else if (p.name?.startsWith("h2c")) createH2cServer(httpHandler(spec) as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void).listen(listen); // the compatibility API has the same shape
    else if (p.name?.startsWith("tcp")) createTcpServer((sock) => sock.on("error", () => undefined).pipe(sock)).listen(listen);
    else createServer(httpHandler(spec)).listen(listen);
  }
  if (sctpPorts.length) void import("./sctp.js").then(({ serveSctp }) => serveSctp(spec.pod, sctpPorts, log, { ipv6: spec.dualStack === true }));
  log("serving", { pod: spec.pod, image: spec.image, ports: spec.ports });
}
