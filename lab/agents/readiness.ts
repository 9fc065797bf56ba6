// The kubelet's readiness probe, as a pod's readinessProbe would be written for the lab's images:
// an HTTP GET /healthz on the first TCP port where the test server speaks HTTP, a TCP connect for DNS
// and gRPC ports, else a datagram answered on the first UDP port.
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import type { Pod } from "../../proxy/model.js";

export const PROBE_MS = 250;
const PROBE_TIMEOUT_MS = 400;

function probeTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    sock.on("connect", () => done(true));
    sock.on("error", () => done(false));
  });
}

/** An HTTP readiness probe (GET /healthz answered 200), as a pod's readinessProbe.httpGet. */
function probeHttp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    let reply = "";
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    sock.on("connect", () => sock.write(`GET /healthz HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    sock.on("data", (d) => {
      reply += d.toString();
      if (reply.includes("\r\n")) done(/^HTTP\/1\.[01] 200/.test(reply));
    });
    sock.on("error", () => done(false));
  });
}

function probeUdp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket("udp4");
    const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS);
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    sock.on("message", () => finish(true));
    sock.on("error", () => finish(false));
    sock.send("probe", port, host);
  });
}

/**
 * The readiness probe on the first TCP port: HTTP GET /healthz where the test server speaks HTTP,
 * a TCP connect for DNS, gRPC and TCP echo ports; else a datagram to the first UDP port.
 */
export async function podAnswers(pod: Pod): Promise<boolean> {
  const ip = pod.status?.podIP;
  if (!ip) return false;
  const ports = pod.spec.containers.flatMap((c) => c.ports ?? []);
  const tcp = ports.find((p) => (p.protocol ?? "TCP") === "TCP");
  // agnhost subcommands (a container with a command or args) speak no HTTP, nor do the test server's
  // gRPC and TCP echo ports: a TCP connect, as for DNS.
  const plainTcp = pod.spec.containers.some((c) => /coredns/.test(c.image ?? "") || c.command?.length || c.args?.length) || /^(grpc|tcp)/.test(tcp?.name ?? "");
  if (tcp) return plainTcp ? probeTcp(ip, tcp.containerPort) : probeHttp(ip, tcp.containerPort);
  const udp = ports.find((p) => p.protocol === "UDP");
  return udp ? probeUdp(ip, udp.containerPort) : true;
}
