// The connectivity matrix: every condition of the Kubernetes networking walkthrough (rows) × every
// protocol (columns), each cell proved by real exchanges between lab namespaces (probes.ts) and
// reported with its latency; a cell that does not apply says why. Rows through Services use a
// workload the matrix applies itself (weft-matrix in namespace weft-lab, behind a LoadBalancer
// Service with one port per protocol), so they run on any lab that has the Services layer.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { clusterIpOf, type Service } from "../../proxy/model.js";
import { labFamilies, urlHost } from "../cluster/addressing.js";
import { DEPLOYMENTS, INGRESSES, SERVICES } from "../../kube/kinds.js";
import { getObject } from "../agents/pod-lookup.js";
import { readyServiceAddresses } from "../agents/services-layer.js";
import type { Manifest } from "../apiserver/manifests.js";
import { PROTOCOLS, type Cell, type Protocol, type RowTarget } from "./probes.js";
import { REPO, SELF } from "../cluster/paths.js";
import { HOST_PORT_OFFSET, probePorts, SERVER_PORTS } from "../containers/servers.js";
import { waitFor } from "../cluster/sh.js";
import type { LabNode, LabPod, LabState } from "../cluster/state.js";

export { PROTOCOLS, type Cell, type Protocol };

export interface Row {
  condition: string;
  from: string;
  to: string;
  cells: Cell[];
}

interface RowPlan {
  condition: string;
  from: string;
  to: string;
  netns: string;
  /** Resolve names with the pod's resolv.conf (`ip netns exec` mounts it; nsenter does not). */
  podDns?: boolean;
  target: RowTarget;
}

const NS = "weft-lab";
const NAME = "weft-matrix";
/** Service port per protocol: 80, 81, … in SERVER_PORTS' order. */
const SERVICE_PORTS = SERVER_PORTS.map((p, i) => ({ name: p.name ?? "", port: 80 + i, targetPort: p.containerPort, protocol: p.protocol ?? "TCP" }));
const PROTOCOL_OF_PORT: Record<string, Exclude<Protocol, "ICMP">> = { http: "HTTP/1.1", udp: "UDP", "tcp-echo": "TCP", h2c: "HTTP/2", grpc: "gRPC", sctp: "SCTP" };

function workload(replicas: number): Manifest[] {
  const labels = { app: NAME };
  return [
    { kind: "Namespace", obj: { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } } },
    { kind: "Deployment", obj: { kind: "Deployment", metadata: { name: NAME, namespace: NS, labels }, spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: "netexec", image: "registry.k8s.io/e2e-test-images/agnhost:2.45", ports: SERVER_PORTS }] } } } } },
    // PreferDualStack: an address of each family on a dual-stack lab, the one family elsewhere.
    { kind: "Service", obj: { apiVersion: "v1", kind: "Service", metadata: { name: NAME, namespace: NS }, spec: { type: "LoadBalancer", ipFamilyPolicy: "PreferDualStack", selector: labels, ports: SERVICE_PORTS } } },
  ];
}

const readyEndpointCount = async (state: LabState, service: string, namespace = NS): Promise<number> => (await readyServiceAddresses(state, service, namespace)).length;


/** Applies the matrix's workload if it is missing and waits until every replica is an endpoint. */
async function ensureWorkload(state: LabState): Promise<Service> {
  const find = (): Promise<Service | undefined> => getObject<Service>(state, SERVICES, NAME, NS);
  const replicas = state.nodes.length;
  const current = await getObject<{ spec: { replicas?: number } }>(state, DEPLOYMENTS, NAME, NS);
  // One replica per node (the scheduler spreads them); a node added since the last run gets one too.
  if (!(await find()) || current?.spec.replicas !== replicas) {
    const { apply } = await import("../agents/apply.js");
    await apply(state, workload(replicas));
  }
  await waitFor(`the matrix's ${replicas} ${NAME} pods to be ready endpoints`, async () => (await readyEndpointCount(state, NAME)) >= replicas, 30_000);
  const svc = await find();
  if (!svc) throw new Error(`Service ${NS}/${NAME} vanished`);
  return svc;
}

const INGRESS_HOST = "matrix.weft.test";
const GRPC_INGRESS_HOST = "grpc.matrix.weft.test";

/** A self-signed certificate for the matrix's Ingress hosts, made once per lab. */
function matrixCertificate(state: LabState): { cert: string; key: string } {
  const dir = join(state.dir, "matrix-tls");
  const [cert, key] = [join(dir, "tls.crt"), join(dir, "tls.key")];
  if (!existsSync(cert)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", `/CN=${INGRESS_HOST}`, "-addext", `subjectAltName=DNS:${INGRESS_HOST},DNS:${GRPC_INGRESS_HOST}`, "-addext", "basicConstraints=critical,CA:TRUE"], { stdio: "ignore" });
  }
  return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
}

function ingressObjects(tls: { cert: string; key: string }): Manifest[] {
  const backend = (port: string) => ({ service: { name: NAME, port: { name: port } } });
  const rule = (host: string, port: string) => ({ host, http: { paths: [{ path: "/", pathType: "Prefix", backend: backend(port) }] } });
  return [
    { kind: "Secret", obj: { kind: "Secret", metadata: { name: `${NAME}-tls`, namespace: NS }, type: "kubernetes.io/tls", stringData: { "tls.crt": tls.cert, "tls.key": tls.key } } },
    { kind: "Ingress", obj: { kind: "Ingress", metadata: { name: NAME, namespace: NS }, spec: { ingressClassName: "nginx", tls: [{ hosts: [INGRESS_HOST], secretName: `${NAME}-tls` }], rules: [rule(INGRESS_HOST, "http")] } } },
    { kind: "Ingress", obj: { kind: "Ingress", metadata: { name: `${NAME}-grpc`, namespace: NS, annotations: { "nginx.ingress.kubernetes.io/backend-protocol": "GRPC" } }, spec: { ingressClassName: "nginx", tls: [{ hosts: [GRPC_INGRESS_HOST], secretName: `${NAME}-tls` }], rules: [rule(GRPC_INGRESS_HOST, "grpc")] } } },
  ];
}

/** The example's ingress-nginx controller and the matrix's Ingresses; the controller's address once nginx serves them. */
async function ensureIngress(state: LabState): Promise<{ ip: string; ca: string }> {
  const controller = (): Promise<Service | undefined> => getObject<Service>(state, SERVICES, "ingress-nginx-controller", "ingress-nginx");
  const tls = matrixCertificate(state);
  const { apply } = await import("../agents/apply.js");
  if (!(await controller())) {
    const { readManifests } = await import("../apiserver/manifests.js");
    await apply(state, readManifests(join(REPO, "examples", "ingress", "00-controller.yaml"), false, () => undefined));
  }
  if (!(await getObject(state, INGRESSES, NAME, NS))) await apply(state, ingressObjects(tls));
  const confs = (): string[] => {
    const dir = join(state.dir, "ingress-nginx");
    return existsSync(dir) ? readdirSync(dir).map((d) => join(dir, d, "nginx.conf")).filter(existsSync).map((f) => readFileSync(f, "utf8")) : [];
  };
  await waitFor("the ingress controller to serve the matrix's hosts", () => confs().some((c) => c.includes(`server_name ${GRPC_INGRESS_HOST};`) && c.includes(`upstream ${NS}-${NAME}-grpc {`)), 30_000);
  // Until its endpoint is ready, the proxies reject connections to the controller's Service, as kube-proxy does.
  await waitFor("the ingress controller to be a ready endpoint", async () => (await readyEndpointCount(state, "ingress-nginx-controller", "ingress-nginx")) > 0, 30_000);
  const ip = (await controller())?.status?.loadBalancer?.ingress?.[0]?.ip;
  if (!ip) throw new Error("the ingress controller's Service has no LoadBalancer address");
  return { ip, ca: tls.cert };
}

const portsBy = (svc: Service, field: "port" | "nodePort"): RowTarget["ports"] => Object.fromEntries((svc.spec.ports ?? []).map((p) => [PROTOCOL_OF_PORT[p.name ?? ""], p[field]]));

const NOT_ADDRESSES = { ICMP: "a Service maps ports, not an address: nothing answers ping on it" };

function podRow(condition: string, a: LabPod, b: LabPod, extra: Partial<RowTarget> = {}): RowPlan {
  return { condition, from: a.name, to: `${b.name} (${b.ip})`, netns: a.netns, target: { host: b.ip, ports: probePorts(), name: b.name, source: a.ip, ...extra } };
}

/** The same pod-to-pod path over IPv6: to and from the pods' IPv6 addresses. */
function podRow6(condition: string, a: LabPod, b: LabPod): RowPlan {
  return { condition, from: a.name, to: `${b.name} (${b.ip6 ?? "?"})`, netns: a.netns, target: { host: b.ip6 ?? "", ports: probePorts(), name: b.name, source: a.ip6 ?? "" } };
}

/** The Service's IPv6 address from a pod (its own source kept), by its AAAA name, from a node; its node port and LoadBalancer address from the WAN. */
function serviceRows6(svc: Service, pod: LabPod, n1: LabNode, n2: LabNode, wanNetns: string | undefined): RowPlan[] {
  const ip = clusterIpOf(svc, "IPv6");
  if (!ip) return [];
  const ports = portsBy(svc, "port");
  const na = NOT_ADDRESSES;
  const name = `${NAME}-`;
  const rows: RowPlan[] = [
    { condition: "pod → ClusterIP (IPv6)", from: pod.name, to: `${NS}/${NAME} ${ip}`, netns: pod.netns, target: { host: ip, ports, name, source: pod.ip6 ?? "", na } },
    { condition: "pod → ClusterIP by DNS name (IPv6)", from: pod.name, to: `${NAME}.${NS} (AAAA)`, netns: pod.netns, podDns: true, target: { host: `${NAME}.${NS}`, family: 6, ports, name, source: pod.ip6 ?? "", na } },
    { condition: "node → ClusterIP (IPv6)", from: n1.name, to: `${NS}/${NAME} ${ip}`, netns: n1.netns, target: { host: ip, ports, name, na } },
  ];
  const lb = svc.status?.loadBalancer?.ingress?.map((i) => i.ip ?? "").find((x) => x.includes(":"));
  if (wanNetns && n2.underlayIp6) rows.push({ condition: "wan → NodePort (IPv6)", from: "wan", to: `[${n2.underlayIp6}]:<nodePort>`, netns: wanNetns, target: { host: n2.underlayIp6, ports: portsBy(svc, "nodePort"), name, na } });
  if (wanNetns && lb) rows.push({ condition: "wan → LoadBalancer (IPv6)", from: "wan", to: lb, netns: wanNetns, target: { host: lb, ports, name, na } });
  return rows;
}

function planRows(state: LabState, svc: Service | undefined, ingress: { ip: string; ca: string } | undefined): RowPlan[] {
  const [n1, n2] = state.nodes as (LabNode | undefined)[];
  const p11 = n1?.pods[0];
  const p12 = n1?.pods[1];
  const p21 = n2?.pods[0];
  const p22 = n2?.pods[1];
  const backend = state.options.backend ?? "vxlan";
  const dr = state.options.directRouting;
  const rows: RowPlan[] = [];
  const naRow = (condition: string, why: string): RowPlan => ({ condition, from: "-", to: "-", netns: "", target: { host: "", ports: {}, na: Object.fromEntries(PROTOCOLS.map((p) => [p, why])) } });
  if (p11 && p12) rows.push(podRow("pod → pod, same node", p11, p12));
  if (p11 && p21) {
    if (backend !== "vxlan") {
      const why = `the lab is up with the ${backend} backend (its own row below)`;
      rows.push(naRow("pod → pod, across nodes (VXLAN)", why), naRow("pod → pod, across nodes (DirectRouting)", why));
    } else {
      rows.push(dr ? naRow("pod → pod, across nodes (VXLAN)", "the lab is up with DirectRouting: same-subnet nodes route without VXLAN") : podRow("pod → pod, across nodes (VXLAN)", p11, p21));
      rows.push(dr ? podRow("pod → pod, across nodes (DirectRouting)", p11, p21) : naRow("pod → pod, across nodes (DirectRouting)", "the lab is up with VXLAN (weft-lab up --direct-routing proves this row)"));
    }
    if (backend !== "vxlan") rows.push(podRow(`pod → pod, across nodes (${backend === "wireguard" ? "WireGuard" : "host-gw"})`, p11, p21));
  }
  for (const node of state.nodes.slice(2)) if (p11 && node.pods[0]) rows.push(podRow(`pod → pod, across nodes, to ${node.name}`, p11, node.pods[0]));
  if (p12 && p22) {
    const noSourceInAnswer = "the answer does not show the source; UDP and HTTP do";
    rows.push(podRow("pod → pod is never masqueraded", p12, p22, { na: { ICMP: noSourceInAnswer, TCP: noSourceInAnswer, SCTP: noSourceInAnswer, gRPC: noSourceInAnswer } }));
  }
  const wan = state.wan;
  const clusterIp = svc?.spec.clusterIP;
  if (svc && clusterIp && p11 && n1) {
    const ports = portsBy(svc, "port");
    const name = `${NAME}-`;
    rows.push({ condition: "pod → ClusterIP", from: p11.name, to: `${NS}/${NAME} ${clusterIp}`, netns: p11.netns, target: { host: clusterIp, ports, name, source: p11.ip, na: NOT_ADDRESSES } });
    // The name resolves to the lab's first family: an A record, or an AAAA one in an IPv6-only lab.
    const family = labFamilies(state)[0] === "IPv6" ? 6 : 4;
    rows.push({ condition: "pod → ClusterIP by DNS name", from: p11.name, to: `${NAME}.${NS}`, netns: p11.netns, podDns: true, target: { host: `${NAME}.${NS}`, family, ports, name, source: p11.ip, na: NOT_ADDRESSES } });
    rows.push({ condition: "node → ClusterIP", from: n1.name, to: `${NS}/${NAME} ${clusterIp}`, netns: n1.netns, target: { host: clusterIp, ports, name, na: NOT_ADDRESSES } });
    const lb = svc.status?.loadBalancer?.ingress?.[0]?.ip;
    const n2ip = n2?.underlayIp ?? n1.underlayIp;
    if (wan) {
      rows.push({ condition: "wan → NodePort", from: "wan", to: `${urlHost(n2ip)}:<nodePort>`, netns: wan.netns, target: { host: n2ip, ports: portsBy(svc, "nodePort"), name, na: NOT_ADDRESSES } });
      if (lb) rows.push({ condition: "wan → LoadBalancer", from: "wan", to: `${lb}`, netns: wan.netns, target: { host: lb, ports, name, na: NOT_ADDRESSES } });
      if (ingress) {
        const l7 = "an Ingress routes HTTP by host and path";
        rows.push({ condition: "wan → Ingress", from: "wan", to: `${INGRESS_HOST}, ${GRPC_INGRESS_HOST} at ${ingress.ip} (ingress-nginx)`, netns: wan.netns, target: { host: ingress.ip, ports: { "HTTP/1.1": 80, "HTTP/2": 443, gRPC: 443 }, name, ingress: { host: INGRESS_HOST, grpcHost: GRPC_INGRESS_HOST, ca: ingress.ca }, na: { ICMP: l7, TCP: l7, UDP: l7, SCTP: l7 } } });
      }
    }
  } else {
    for (const c of ["pod → ClusterIP", "pod → ClusterIP by DNS name", "node → ClusterIP", "wan → NodePort", "wan → LoadBalancer", "wan → Ingress"]) rows.push(naRow(c, "the lab is up with --no-services"));
  }
  if (wan && p11 && n1) {
    rows.push({ condition: "wan → pod (hostPort)", from: "wan", to: `${urlHost(n1.underlayIp)}:${(SERVER_PORTS[0]?.containerPort ?? 0) + HOST_PORT_OFFSET}… → ${p11.name}`, netns: wan.netns, target: { host: n1.underlayIp, ports: probePorts(HOST_PORT_OFFSET), name: p11.name, na: { ICMP: "a hostPort maps ports, not an address" } } });
    rows.push(state.options.ipMasq ? { condition: "pod → wan (masqueraded)", from: p11.name, to: `wan ${wan.ip}`, netns: p11.netns, target: { host: wan.ip, ports: probePorts(), name: "wan", source: n1.underlayIp } } : naRow("pod → wan (masqueraded)", "the lab is up without --ip-masq"));
  }
  // A dual-stack lab: the pod network's paths and the Service's again over IPv6.
  if (state.options.ipFamily === "dual") {
    if (p11?.ip6 && p12?.ip6) rows.push(podRow6("pod → pod, same node (IPv6)", p11, p12));
    if (p11?.ip6 && p21?.ip6) rows.push(podRow6("pod → pod, across nodes (IPv6)", p11, p21));
    if (svc && p11?.ip6 && n1) rows.push(...serviceRows6(svc, p11, n1, n2 ?? n1, wan?.netns));
    if (wan?.ip6 && p11?.ip6 && n1?.underlayIp6) {
      rows.push(state.options.ipMasq ? { condition: "pod → wan (IPv6, masqueraded)", from: p11.name, to: `wan ${wan.ip6}`, netns: p11.netns, target: { host: wan.ip6, ports: probePorts(), name: "wan", source: n1.underlayIp6 } } : naRow("pod → wan (IPv6, masqueraded)", "the lab is up without --ip-masq"));
    }
  }
  return rows;
}

function runRow(plan: RowPlan): Row {
  const base = { condition: plan.condition, from: plan.from, to: plan.to };
  if (!plan.netns) return { ...base, cells: PROTOCOLS.map((protocol) => ({ protocol, note: plan.target.na?.[protocol] ?? "" })) };
  const cmd = [process.execPath, SELF, "agent", "probe-row", JSON.stringify(plan.target)];
  const r = plan.podDns ? spawnSync("ip", ["netns", "exec", plan.netns, ...cmd], { encoding: "utf8", timeout: 90_000 }) : spawnSync("nsenter", [`--net=/var/run/netns/${plan.netns}`, ...cmd], { encoding: "utf8", timeout: 90_000 });
  try {
    return { ...base, cells: JSON.parse(r.stdout) as Cell[] };
  } catch {
    const why = (r.stderr || r.error?.message || "the probe process failed").trim().split("\n")[0] ?? "";
    return { ...base, cells: PROTOCOLS.map((protocol) => ({ protocol, ok: false, note: why })) };
  }
}

export async function runMatrix(state: LabState): Promise<Row[]> {
  const svc = state.options.services === false ? undefined : await ensureWorkload(state);
  const ingress = svc && state.wan ? await ensureIngress(state) : undefined;
  return planRows(state, svc, ingress).map(runRow);
}

export function matrixPassed(rows: Row[]): boolean {
  return rows.every((r) => r.cells.every((c) => c.ok !== false));
}

export function formatMatrix(rows: Row[]): string {
  const w0 = Math.max(...rows.map((r) => r.condition.length), 9);
  const fmt = (c: Cell): string => (c.ok === undefined ? "   ·    " : `${c.ok ? "✓" : "✗"}${(c.ms ?? 0).toFixed(2).padStart(6)}ms`).padEnd(10);
  const lines = [`${"condition".padEnd(w0)}  ${PROTOCOLS.map((p) => p.padEnd(10)).join(" ")}`];
  for (const r of rows) lines.push(`${r.condition.padEnd(w0)}  ${r.cells.map(fmt).join(" ")}`);
  lines.push("", "✓/✗ passed/failed with the p50 round trip; · does not apply. Paths, TCP throughput (1 MiB each way) and notes:");
  for (const r of rows) {
    const tcp = r.cells.find((c) => c.protocol === "TCP" && c.mbps);
    lines.push(`  ${r.condition}: ${r.from} → ${r.to}${tcp ? `; TCP ${tcp.mbps} Mbit/s` : ""}`);
    // One line per distinct note, naming the protocols it is about.
    const notes = new Map<string, string[]>();
    for (const c of r.cells.filter((x) => x.note)) {
      const key = `${c.ok === false ? "✗" : c.ok ? "✓" : "·"} ${c.note ?? ""}`;
      notes.set(key, [...(notes.get(key) ?? []), c.protocol]);
    }
    for (const [key, protocols] of notes) lines.push(`      ${key.slice(0, 1)} ${r.from === "-" ? "" : `${protocols.join(", ")}: `}${key.slice(2)}`);
  }
  return lines.join("\n");
}
