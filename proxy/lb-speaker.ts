// LoadBalancer addresses in MetalLB's layer-2 model: the nodes' speakers hear each other (UDP
// heartbeats on the node network); for each address one live node — the first by a hash of node and
// address, among nodes with a local endpoint when externalTrafficPolicy is Local — holds it on its
// interface (so it answers ARP) and announces it with gratuitous ARP; when that node goes quiet
// for a second, the next one takes it over.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createSocket } from "node:dgram";
import { nodeInternalIp, nsOf, SERVICE_NAME_LABEL, type ClusterState, type Service } from "./model.js";
import { run as defaultRun, type Runner } from "./exec.js";

export const SPEAKER_PORT = 7946;
const HEARTBEAT_MS = 200;
const DEAD_AFTER_MS = 1_000;

/** MetalLB's choice: candidates ordered by sha256(node + "#" + address); the first announces. */
export function electOwner(ip: string, candidates: string[]): string | undefined {
  const score = (n: string): string => createHash("sha256").update(`${n}#${ip}`).digest("hex");
  return [...candidates].sort((a, b) => (score(a) < score(b) ? -1 : 1))[0];
}

function localNodes(state: ClusterState, svc: Service): Set<string> {
  const nodes = new Set<string>();
  for (const s of state.endpointSlices) {
    if (s.metadata.labels?.[SERVICE_NAME_LABEL] !== svc.metadata.name || nsOf(s.metadata) !== nsOf(svc.metadata)) continue;
    for (const ep of s.endpoints) if (ep.conditions.ready !== false && ep.nodeName) nodes.add(ep.nodeName);
  }
  return nodes;
}

/** Which addresses `self` should hold, given who is alive. */
export function addressesToHold(state: ClusterState, self: string, alive: Set<string>): string[] {
  const out: string[] = [];
  for (const svc of state.services) {
    if (svc.spec.type !== "LoadBalancer") continue;
    const local = svc.spec.externalTrafficPolicy === "Local" ? localNodes(state, svc) : undefined;
    const candidates = [...alive].filter((n) => !local || local.has(n));
    for (const ing of svc.status?.loadBalancer?.ingress ?? []) if (ing.ip && electOwner(ing.ip, candidates) === self) out.push(ing.ip);
  }
  return out;
}

export class LbSpeaker {
  private state: ClusterState = { services: [], endpointSlices: [], pods: [], nodes: [] };
  private readonly lastSeen = new Map<string, number>();
  private held = new Set<string>();
  private readonly sock = createSocket("udp4");
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;

  constructor(
    private readonly self: string,
    private readonly selfIp: string,
    private readonly iface: string,
    private readonly log: (msg: string, fields: object) => void,
    private readonly run: Runner = defaultRun,
  ) {}

  start(): void {
    this.sock.on("message", (msg) => this.lastSeen.set(msg.toString(), Date.now()));
    this.sock.on("error", (err) => this.log("speaker socket error", { error: err.message }));
    this.sock.bind(SPEAKER_PORT, this.selfIp);
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.tick(), HEARTBEAT_MS);
  }

  update(state: ClusterState): void {
    this.state = state;
  }

  private tick(): void {
    for (const n of this.state.nodes) {
      const ip = nodeInternalIp(n);
      if (ip && n.metadata.name !== this.self) this.sock.send(this.self, SPEAKER_PORT, ip);
    }
    const now = Date.now();
    // Until peers have had time to be heard, every node would think it is alone and take everything.
    if (now - this.startedAt < DEAD_AFTER_MS) return;
    const alive = new Set([this.self, ...[...this.lastSeen].filter(([, t]) => now - t < DEAD_AFTER_MS).map(([n]) => n)]);
    const want = new Set(addressesToHold(this.state, this.self, alive));
    for (const ip of want) {
      if (this.held.has(ip)) continue;
      try {
        this.run("ip", ["addr", "replace", `${ip}/32`, "dev", this.iface]);
        // Gratuitous ARP, so the router forgets the previous holder's MAC at once.
        spawn("arping", ["-U", "-c", "2", "-I", this.iface, ip], { stdio: "ignore" }).on("error", () => undefined);
        this.held.add(ip);
        this.log("announcing LoadBalancer address", { node: this.self, ip, alive: [...alive].sort() });
      } catch (err) {
        this.log("cannot take LoadBalancer address", { node: this.self, ip, error: (err as Error).message });
      }
    }
    for (const ip of [...this.held].filter((x) => !want.has(x))) this.release(ip);
  }

  private release(ip: string): void {
    try {
      this.run("ip", ["addr", "del", `${ip}/32`, "dev", this.iface]);
    } catch {
      // already gone
    }
    this.held.delete(ip);
    this.log("stopped announcing LoadBalancer address", { node: this.self, ip });
  }

  stop(): void {
    clearInterval(this.timer);
    for (const ip of [...this.held]) this.release(ip);
    this.sock.close();
  }
}
