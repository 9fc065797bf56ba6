// LoadBalancer addresses in MetalLB's layer-2 model: the nodes' speakers hear each other (UDP
// heartbeats on the node network); for each address one live node — the first by a hash of node and
// address, among nodes with a local endpoint when externalTrafficPolicy is Local — holds it on its
// interface (so it answers ARP, or NDP for IPv6) and announces it — gratuitous ARP for IPv4, an
// unsolicited Neighbour Advertisement for IPv6 —; when that node goes quiet for a second, the next
// one takes it over. Heartbeats go over the family of the speaker's own address.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createSocket, type Socket } from "node:dgram";
import { ipFamilyOf, nodeInternalIp, nsOf, SERVICE_NAME_LABEL, type ClusterState, type IpFamily, type Service } from "./model.js";
import { run as defaultRun, type Runner } from "./exec.js";
import { sendUnsolicitedNa } from "./ndp.js";

export const SPEAKER_PORT = 7946;
const HEARTBEAT_MS = 200;
const DEAD_AFTER_MS = 1_000;
/** Each announcement goes out twice (as arping -c 2 does), in case the first is lost. */
const ANNOUNCE_REPEAT_MS = HEARTBEAT_MS;
/** The address alone on the interface: /32, or /128 for IPv6. */
const hostPrefix = (ip: string): string => `${ip}/${ipFamilyOf(ip) === "IPv6" ? 128 : 32}`;

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
  private readonly family: IpFamily;
  private readonly sock: Socket;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;

  constructor(
    private readonly self: string,
    private readonly selfIp: string,
    private readonly iface: string,
    private readonly log: (msg: string, fields: object) => void,
    private readonly run: Runner = defaultRun,
  ) {
    this.family = ipFamilyOf(selfIp);
    this.sock = createSocket(this.family === "IPv6" ? "udp6" : "udp4");
  }

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
      const ip = nodeInternalIp(n, this.family);
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
        this.hold(ip);
        this.held.add(ip);
        this.log("announcing LoadBalancer address", { node: this.self, ip, alive: [...alive].sort() });
        this.announce(ip);
      } catch (err) {
        this.log("cannot take LoadBalancer address", { node: this.self, ip, error: (err as Error).message });
      }
    }
    for (const ip of [...this.held].filter((x) => !want.has(x))) this.release(ip);
  }

  private hold(ip: string): void {
    // IPv6 without DAD: the address must answer at once, and its previous holder may still have it for a moment.
    if (ipFamilyOf(ip) === "IPv6") this.run("ip", ["-6", "addr", "replace", hostPrefix(ip), "dev", this.iface, "nodad"]);
    else this.run("ip", ["addr", "replace", hostPrefix(ip), "dev", this.iface]);
  }

  /** Tells the link the address is here now, so the router forgets the previous holder's MAC at once. */
  private announce(ip: string): void {
    if (ipFamilyOf(ip) === "IPv4") {
      spawn("arping", ["-U", "-c", "2", "-I", this.iface, ip], { stdio: "ignore" }).on("error", () => undefined);
      return;
    }
    const advertise = (): void => {
      if (!this.held.has(ip)) return;
      try {
        sendUnsolicitedNa(this.iface, ip);
      } catch (err) {
        // Still held: neighbours find it by solicitation once their entry for the old holder fails.
        this.log("cannot announce LoadBalancer address", { node: this.self, ip, error: (err as Error).message });
      }
    };
    advertise();
    setTimeout(advertise, ANNOUNCE_REPEAT_MS).unref();
  }

  private release(ip: string): void {
    try {
      this.run("ip", ["addr", "del", hostPrefix(ip), "dev", this.iface]);
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
