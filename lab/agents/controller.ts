// The lab's control loop (one process, in the first node's namespace): probes every pod's server
// (a pod is Ready when it answers), keeps the pods' Ready condition and the EndpointSlices current,
// and writes the API state only when something changed — within a probe period (250 ms) of a pod
// appearing, disappearing or turning unready.
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { nsOf, type Pod } from "../../proxy/model.js";
import { readApi, updateApi } from "../apiserver/api-store.js";
import { endpointSlicesFor, isReady } from "../apiserver/endpoints.js";

const PROBE_MS = 250;
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
 * a TCP connect for DNS and gRPC ports; else a datagram to the first UDP port.
 */
async function podAnswers(pod: Pod): Promise<boolean> {
  const ip = pod.status?.podIP;
  if (!ip) return false;
  const ports = pod.spec.containers.flatMap((c) => c.ports ?? []);
  const tcp = ports.find((p) => (p.protocol ?? "TCP") === "TCP");
  const plainTcp = pod.spec.containers.some((c) => /coredns/.test(c.image ?? "")) || tcp?.name?.startsWith("grpc");
  if (tcp) return plainTcp ? probeTcp(ip, tcp.containerPort) : probeHttp(ip, tcp.containerPort);
  const udp = ports.find((p) => p.protocol === "UDP");
  return udp ? probeUdp(ip, udp.containerPort) : true;
}

export async function runController(dir: string, log: (msg: string, fields?: object) => void): Promise<never> {
  for (;;) {
    const started = Date.now();
    const api = readApi(dir);
    if (api) {
      const verdicts = new Map<string, boolean>(await Promise.all(api.pods.map(async (p) => [`${nsOf(p.metadata)}/${p.metadata.name}`, await podAnswers(p)] as [string, boolean])));
      const key = (p: Pod): string => `${nsOf(p.metadata)}/${p.metadata.name}`;
      const stale = api.pods.some((p) => verdicts.get(key(p)) !== isReady(p)) || JSON.stringify(endpointSlicesFor(api.services, api.pods)) !== JSON.stringify(api.endpointSlices);
      // The lock is taken only when something changed; the check is repeated under it.
      if (stale) updateApi(dir, (cur) => {
        let changed = false;
        for (const pod of cur.pods) {
          const ready = verdicts.get(key(pod));
          if (ready === undefined || ready === isReady(pod)) continue;
          pod.status = { ...pod.status, conditions: [{ type: "Ready", status: ready ? "True" : "False" }] };
          log(ready ? "pod ready" : "pod not ready", { pod: key(pod), ip: pod.status.podIP });
          changed = true;
        }
        const slices = endpointSlicesFor(cur.services, cur.pods);
        if (JSON.stringify(slices) !== JSON.stringify(cur.endpointSlices)) {
          cur.endpointSlices = slices;
          changed = true;
          log("endpoints updated", { slices: slices.length, endpoints: slices.reduce((n, s) => n + s.endpoints.length, 0) });
        }
        return { write: changed, value: undefined };
      });
    }
    await new Promise((r) => setTimeout(r, Math.max(0, PROBE_MS - (Date.now() - started))));
  }
}
