// Server-side apply keys Service and container ports by number and protocol (kube's listMapKeys): one
// port number over TCP, UDP and SCTP is three entries, and applying the same object again changes nothing.
import { describe, expect, it } from "vitest";
import type { KubeObject } from "./objects.js";
import { serverSideApply } from "./managed-fields.js";

const ports = [80, 81].flatMap((port) => ["TCP", "UDP", "SCTP"].map((protocol) => ({ name: `p-${protocol.toLowerCase()}-${port}`, port, protocol })));
const service = (): KubeObject => ({ apiVersion: "v1", kind: "Service", metadata: { name: "s", namespace: "x" }, spec: { selector: { pod: "a" }, ports } }) as unknown as KubeObject;
const portsOf = (o: KubeObject): unknown => (o as unknown as { spec: { ports: unknown } }).spec.ports;

describe("server-side apply of ports", () => {
  it("keeps a Service's ports of one number and several protocols apart, applied once or again", () => {
    const first = serverSideApply("Service", undefined, service(), "weft-lab", true, "main");
    expect(portsOf(first)).toEqual(ports);
    const again = serverSideApply("Service", first, service(), "weft-lab", true, "main");
    expect(portsOf(again)).toEqual(ports);
  });

  it("keeps a container's ports of one number and several protocols apart, a missing protocol being TCP", () => {
    const pod = (cports: object[]): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "a", namespace: "x" }, spec: { containers: [{ name: "c", image: "i", ports: cports }] } }) as unknown as KubeObject;
    const cports = [{ containerPort: 80, name: "tcp" }, { containerPort: 80, protocol: "UDP", name: "udp" }];
    const first = serverSideApply("Pod", undefined, pod(cports), "m", true, "main");
    const again = serverSideApply("Pod", first, pod([{ containerPort: 80, protocol: "TCP", name: "tcp" }, cports[1]!]), "m", true, "main");
    expect((again as unknown as { spec: { containers: { ports: unknown[] }[] } }).spec.containers[0]?.ports).toEqual([{ containerPort: 80, name: "tcp", protocol: "TCP" }, { containerPort: 80, protocol: "UDP", name: "udp" }]);
  });
});
