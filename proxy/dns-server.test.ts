// The cluster DNS server asked by real dig over both families and both transports, on loopback only:
// one dual-stack socket per protocol must answer IPv4 clients as before and IPv6 clients alike.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildZone } from "./dns-records.js";
import { serveDns, type DnsServer } from "./dns-server.js";
import type { ClusterState } from "./model.js";

const execFileAsync = promisify(execFile);
const state: ClusterState = {
  services: [
    { metadata: { name: "dual", namespace: "default" }, spec: { clusterIP: "10.96.0.30", clusterIPs: ["10.96.0.30", "fd00:96::30"], ipFamilies: ["IPv4", "IPv6"], ipFamilyPolicy: "RequireDualStack" } },
    { metadata: { name: "v6only", namespace: "default" }, spec: { clusterIP: "fd00:96::31", clusterIPs: ["fd00:96::31"], ipFamilies: ["IPv6"] } },
    { metadata: { name: "many", namespace: "default" }, spec: { clusterIP: "None", selector: { app: "many" }, ipFamilies: ["IPv6"] } },
  ],
  // 40 IPv6 endpoints: their AAAA records are ~1.2 kB, more than a plain UDP answer holds.
  endpointSlices: [{ metadata: { name: "many-x", namespace: "default", labels: { "kubernetes.io/service-name": "many" } }, addressType: "IPv6", ports: [], endpoints: Array.from({ length: 40 }, (_, i) => ({ addresses: [`fd00:10:244:2::${(i + 10).toString(16)}`], conditions: { ready: true } })) }],
  pods: [{ metadata: { name: "p", namespace: "team" }, spec: { containers: [] }, status: { podIPs: [{ ip: "10.244.1.9" }, { ip: "fd00:10:244:1::9" }] } }],
  nodes: [],
};

describe("cluster DNS server over UDP and TCP, IPv4 and IPv6 (dig on loopback)", () => {
  let server: DnsServer | undefined;
  let port = 0;
  // dig runs as a child while this process serves: it must not block the event loop (no execFileSync).
  const dig = async (...args: string[]): Promise<string> => (await execFileAsync("dig", ["-p", String(port), "+time=2", "+tries=1", ...args])).stdout;
  const short = async (...args: string[]): Promise<string[]> => (await dig("+short", ...args)).trim().split("\n").filter(Boolean);

  beforeAll(async () => {
    // A random high port, again on a clash with something else on this loopback.
    for (let attempt = 0; attempt < 5 && !server; attempt++) {
      const candidate = 20_000 + Math.floor(Math.random() * 40_000);
      const s = serveDns(candidate, () => undefined);
      try {
        await s.listening;
        server = s;
        port = candidate;
      } catch {
        s.close();
      }
    }
    if (!server) throw new Error("no free loopback port for the DNS server after 5 tries");
    server.setZone(buildZone(state));
  });
  afterAll(() => server?.close());

  it("answers A and AAAA to clients of either family, over UDP and over TCP", async () => {
    for (const at of ["@127.0.0.1", "@::1"]) {
      for (const transport of ["+notcp", "+tcp"]) {
        expect(await short(at, transport, "dual.default.svc.cluster.local", "A"), `${at} ${transport}`).toEqual(["10.96.0.30"]);
        expect(await short(at, transport, "dual.default.svc.cluster.local", "AAAA"), `${at} ${transport}`).toEqual(["fd00:96::30"]);
      }
    }
  });

  it("answers PTR for IPv6 and IPv4 addresses (dig -x), and a pod's IPv6 name with AAAA", async () => {
    expect(await short("@::1", "-x", "fd00:96::30")).toEqual(["dual.default.svc.cluster.local."]);
    expect(await short("@127.0.0.1", "+tcp", "-x", "fd00:96::31")).toEqual(["v6only.default.svc.cluster.local."]);
    expect(await short("@127.0.0.1", "-x", "10.96.0.30")).toEqual(["dual.default.svc.cluster.local."]);
    expect(await short("@::1", "-x", "fd00:10:244:1::9")).toEqual(["fd00-10-244-1--9.team.pod.cluster.local."]);
    expect(await short("@::1", "fd00-10-244-1--9.team.pod.cluster.local", "AAAA")).toEqual(["fd00:10:244:1::9"]);
  });

  it("gives NOERROR with no answer for A of an IPv6-only service, NXDOMAIN for an unknown name", async () => {
    const noData = await dig("@::1", "v6only.default.svc.cluster.local", "A");
    expect(noData).toMatch(/status: NOERROR/);
    expect(noData).toMatch(/ANSWER: 0,/);
    expect(noData).toMatch(/flags: qr aa rd ra;/);
    expect(await dig("@127.0.0.1", "+tcp", "nope.default.svc.cluster.local", "AAAA")).toMatch(/status: NXDOMAIN/);
  });

  it("truncates a UDP answer that does not fit (TC, no records), so the resolver asks again over TCP and gets them all", async () => {
    const udpOnly = await dig("@::1", "+noedns", "+ignore", "many.default.svc.cluster.local", "AAAA");
    expect(udpOnly).toMatch(/flags: qr aa tc rd ra;/);
    expect(udpOnly).toMatch(/ANSWER: 0,/);
    expect(await short("@::1", "+noedns", "many.default.svc.cluster.local", "AAAA")).toHaveLength(40);
    // An EDNS0 client that offers room for it gets it over UDP at once.
    const edns = await dig("@127.0.0.1", "+bufsize=4096", "+ignore", "many.default.svc.cluster.local", "AAAA");
    expect(edns).toMatch(/ANSWER: 40,/);
  });
});
