// kube-proxy's original userspace mode: for each service port a listener in this process on a local
// port, iptables REDIRECT/DNAT rules that send the service's traffic to it ("portals"), and a
// forwarder that opens a connection (TCP) or a flow (UDP) to an endpoint, round robin or by client
// IP. Endpoints see the node as the client, as they did with this mode. One proxier per family: the
// IPv6 one listens on IPv6 sockets and writes its portals with ip6tables.
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, createServer, type Server } from "node:net";
import { run as defaultRun, type Runner } from "./exec.js";
import { familySyntax, hostPort, type FamilySyntax } from "./family-syntax.js";
import { ipFamilyOf, type IpFamily } from "./model.js";
import { ProxyConfigError, type Proxier, type SyncStats } from "./proxier.js";
import type { ServiceEndpoint, ServicePortEntry } from "./service-ports.js";

const CHAINS = { "KUBE-PORTALS-CONTAINER": "PREROUTING", "KUBE-NODEPORT-CONTAINER": "PREROUTING", "KUBE-PORTALS-HOST": "OUTPUT", "KUBE-NODEPORT-HOST": "OUTPUT" } as const;
const UDP_IDLE_MS = 30_000;

interface Portal {
  entry: ServicePortEntry;
  port: number;
  next: number;
  affinity: Map<string, { ep: ServiceEndpoint; until: number }>;
  close: () => void;
}

export class UserspaceProxier implements Proxier {
  readonly mode = "userspace";
  private portals = new Map<string, Portal>();
  private readonly syntax: FamilySyntax;
  /** Listeners bind here: the family's any-address, that family only. */
  private readonly anyAddress: string;
  private readonly udpType: "udp4" | "udp6";

  /** `nodeIp`: this node's address of `family`, where the portals send locally generated traffic. */
  constructor(
    private readonly nodeIp: string,
    private readonly run: Runner = defaultRun,
    readonly family: IpFamily = "IPv4",
  ) {
    this.syntax = familySyntax(family);
    [this.anyAddress, this.udpType] = family === "IPv6" ? ["::", "udp6"] : ["0.0.0.0", "udp4"];
  }

  init(): void {
    if (!this.nodeIp || ipFamilyOf(this.nodeIp) !== this.family) {
      throw new ProxyConfigError(`userspace mode (${this.family}) needs this node's ${this.family} address in --node-ip (the portals DNAT locally generated traffic to it); got "${this.nodeIp}"`);
    }
    const bin = this.syntax.iptablesBin;
    const saved = this.run(`${bin}-save`, ["-t", "nat"]);
    const text = ["*nat", ...Object.keys(CHAINS).map((c) => `:${c} - [0:0]`)];
    for (const [chain, from] of Object.entries(CHAINS)) if (!saved.includes(`-A ${from} -j ${chain}`)) text.push(`-I ${from} 1 -j ${chain}`);
    this.run(`${bin}-restore`, ["--noflush", "--wait"], `${text.join("\n")}\nCOMMIT\n`);
  }

  private choose(p: Portal, client: string): ServiceEndpoint | undefined {
    const eps = p.entry.endpoints;
    if (eps.length === 0) return undefined;
    if (p.entry.affinitySeconds !== undefined) {
      const a = p.affinity.get(client);
      if (a && a.until > Date.now() && eps.some((e) => e.ip === a.ep.ip && e.port === a.ep.port)) return a.ep;
    }
    const ep = eps[p.next++ % eps.length] as ServiceEndpoint;
    if (p.entry.affinitySeconds !== undefined) p.affinity.set(client, { ep, until: Date.now() + p.entry.affinitySeconds * 1000 });
    return ep;
  }

  private async open(entry: ServicePortEntry): Promise<Portal> {
    const portal: Portal = { entry, port: 0, next: 0, affinity: new Map(), close: () => undefined };
    if (entry.protocol === "UDP") {
      const sock = createSocket({ type: this.udpType, ipv6Only: this.family === "IPv6" });
      const flows = new Map<string, { upstream: UdpSocket; timer: NodeJS.Timeout; connected: boolean }>();
      sock.on("message", (msg, rinfo) => {
        const client = `${rinfo.address}:${rinfo.port}`;
        let flow = flows.get(client);
        if (!flow) {
          const ep = this.choose(portal, rinfo.address);
          if (!ep) return;
          const upstream = createSocket(this.udpType);
          upstream.on("message", (reply) => sock.send(reply, rinfo.port, rinfo.address));
          const created: { upstream: UdpSocket; timer: NodeJS.Timeout; connected: boolean } = { upstream, timer: setTimeout(() => undefined, 0), connected: false };
          upstream.connect(ep.port, ep.ip, () => void (created.connected = true));
          flow = created;
          flows.set(client, flow);
        }
        clearTimeout(flow.timer);
        const f = flow;
        f.timer = setTimeout(() => {
          f.upstream.close();
          flows.delete(client);
        }, UDP_IDLE_MS);
        const send = (): void => f.upstream.send(msg);
        // connect() is asynchronous: the first datagram waits for it.
        if (f.connected) send();
        else f.upstream.once("connect", send);
      });
      await new Promise<void>((resolve) => sock.bind(0, this.anyAddress, resolve));
      portal.port = sock.address().port;
      portal.close = () => {
        for (const f of flows.values()) f.upstream.close();
        sock.close();
      };
      return portal;
    }
    const server: Server = createServer((client) => {
      const tryEndpoint = (attempt: number): void => {
        const ep = this.choose(portal, client.remoteAddress ?? "");
        if (!ep) return void client.destroy();
        const upstream = connect({ host: ep.ip, port: ep.port });
        upstream.once("connect", () => {
          client.pipe(upstream).pipe(client);
        });
        upstream.once("error", () => {
          upstream.destroy();
          if (attempt < portal.entry.endpoints.length) tryEndpoint(attempt + 1);
          else client.destroy();
        });
        client.once("error", () => upstream.destroy());
        client.once("close", () => upstream.destroy());
      };
      tryEndpoint(1);
    });
    await new Promise<void>((resolve) => server.listen({ port: 0, host: this.anyAddress, ipv6Only: this.family === "IPv6" }, resolve));
    portal.port = (server.address() as { port: number }).port;
    portal.close = () => server.close();
    return portal;
  }

  async sync(ports: ServicePortEntry[]): Promise<SyncStats> {
    const t = performance.now();
    const wanted = new Map(ports.filter((p) => p.endpoints.length > 0).map((p) => [`${p.name}/${p.protocol}`, p]));
    for (const [key, portal] of this.portals) {
      if (!wanted.has(key)) {
        portal.close();
        this.portals.delete(key);
      }
    }
    for (const [key, entry] of wanted) {
      const existing = this.portals.get(key);
      if (existing) existing.entry = entry;
      else this.portals.set(key, await this.open(entry));
    }
    const rules: Record<keyof typeof CHAINS, string[]> = { "KUBE-PORTALS-CONTAINER": [], "KUBE-PORTALS-HOST": [], "KUBE-NODEPORT-CONTAINER": [], "KUBE-NODEPORT-HOST": [] };
    for (const { entry: p, port } of this.portals.values()) {
      const proto = p.protocol.toLowerCase();
      const toNode = `DNAT --to-destination ${hostPort(this.nodeIp, port)}`;
      for (const ip of [p.clusterIP, ...p.loadBalancerIPs]) {
        rules["KUBE-PORTALS-CONTAINER"].push(`-d ${ip}${this.syntax.hostMask} -p ${proto} -m ${proto} --dport ${p.port} -m comment --comment "${p.name}" -j REDIRECT --to-ports ${port}`);
        rules["KUBE-PORTALS-HOST"].push(`-d ${ip}${this.syntax.hostMask} -p ${proto} -m ${proto} --dport ${p.port} -m comment --comment "${p.name}" -j ${toNode}`);
      }
      if (p.nodePort !== undefined) {
        rules["KUBE-NODEPORT-CONTAINER"].push(`-p ${proto} -m addrtype --dst-type LOCAL -m ${proto} --dport ${p.nodePort} -m comment --comment "${p.name}" -j REDIRECT --to-ports ${port}`);
        rules["KUBE-NODEPORT-HOST"].push(`-p ${proto} -m addrtype --dst-type LOCAL -m ${proto} --dport ${p.nodePort} -m comment --comment "${p.name}" -j ${toNode}`);
      }
    }
    const text = ["*nat", ...Object.keys(rules).map((c) => `:${c} - [0:0]`), ...Object.entries(rules).flatMap(([c, rs]) => rs.map((r) => `-A ${c} ${r}`)), "COMMIT", ""].join("\n");
    this.run(`${this.syntax.iptablesBin}-restore`, ["--noflush", "--wait"], text);
    return { written: this.portals.size, bytes: text.length, ms: performance.now() - t };
  }

  invalidate(): void {
    // Listeners are this process's own state; the portal chains are rewritten on every sync anyway.
  }

  stop(): void {
    for (const p of this.portals.values()) p.close();
  }
}
