// IPv6 LoadBalancer addresses in the speaker, on a link of the test's own: a router and two nodes on a
// bridge, every one a namespace of this test. A held address is a /128 without DAD that the router
// finds by NDP; an unsolicited Neighbour Advertisement moves the router's entry to the new holder
// within a second (without one the router keeps the old MAC); and two speakers hearing each other over
// IPv6 heartbeats fail over the same way. Code that sends runs in the node namespaces (nsenter), never here.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { electOwner } from "../../proxy/lb-speaker.js";
import type { ClusterState } from "../../proxy/model.js";
import { ipJson, NetnsPool, netnsPath, run } from "../helpers/netns.js";

const execFileAsync = promisify(execFile);
const REPO = resolve(import.meta.dirname, "../..");
const ROUTER_IP = "fd00:56::1";
const LB_MOVED_BY_HAND = "fd00:56::201";
const LB_OF_SPEAKERS = "fd00:56::200";

interface Node {
  name: string;
  ns: string;
  ip: string;
  mac: string;
}
interface Event {
  t: number;
  msg: string;
  [field: string]: unknown;
}
interface Worker {
  child: ChildProcess;
  events: Event[];
  stderr: () => string;
}

describe("LoadBalancer speaker: IPv6 addresses held as /128 and announced by unsolicited NA", () => {
  const pool = new NetnsPool("l6");
  const workers: ChildProcess[] = [];
  let dir = "";
  let bundle = "";
  let router = "";
  let nodes: Node[] = [];

  /** The router's neighbour entry for `ip`: the MAC it sends to. */
  const routerMac = async (ip: string): Promise<string | undefined> => {
    const { stdout } = await execFileAsync("ip", ["-n", router, "-j", "-6", "neigh", "show", ip, "dev", "eth0"]);
    return (JSON.parse(stdout || "[]") as { lladdr?: string }[])[0]?.lladdr;
  };
  const routerPings = async (ip: string, waitS: number): Promise<boolean> =>
    execFileAsync("ip", ["netns", "exec", router, "ping", "-6", "-n", "-q", "-c", "1", "-W", String(waitS), ip]).then(
      () => true,
      () => false,
    );
  /** The address as held on a node's eth0 (prefix length and flags), if it is. */
  const heldOn = (node: Node, ip: string) => ipJson<{ addr_info: { local: string; prefixlen: number; nodad?: boolean; tentative?: boolean }[] }[]>(node.ns, ["-6", "addr", "show", "dev", "eth0"])[0]?.addr_info.find((a) => a.local === ip);
  /** Polls until `check` holds; the time it first held, or a failure naming what never came. */
  const waitFor = async (what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<number> => {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (await check()) return Date.now();
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`${what}: not within ${timeoutMs} ms`);
  };

  /** Starts the bundled worker inside a node's namespace; its JSON lines are collected as events. */
  function startWorker(node: Node, args: string[]): Worker {
    const child = spawn("nsenter", [`--net=${netnsPath(node.ns)}`, process.execPath, bundle, ...args], { env: { ...process.env, NODE_PATH: join(REPO, "node_modules") }, stdio: ["ignore", "pipe", "pipe"] });
    workers.push(child);
    const events: Event[] = [];
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      for (let nl = out.indexOf("\n"); nl >= 0; nl = out.indexOf("\n")) {
        events.push(JSON.parse(out.slice(0, nl)) as Event);
        out = out.slice(nl + 1);
      }
    });
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    return { child, events, stderr: () => err };
  }
  const exited = (w: Worker): Promise<number | null> => new Promise((r) => (w.child.exitCode !== null ? r(w.child.exitCode) : w.child.once("exit", (code) => r(code))));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "weft-lb6-"));
    bundle = join(dir, "worker.cjs");
    // koffi is a native addon: left to node_modules, found through NODE_PATH by the CommonJS bundle.
    await build({ entryPoints: [join(REPO, "test/e2e/lb-speaker-ipv6-worker.ts")], outfile: bundle, bundle: true, platform: "node", format: "cjs", target: "node20", external: ["koffi"], logLevel: "error" });
    const sw = pool.create();
    router = pool.create();
    nodes = [0, 1].map((i) => ({ name: `node${i + 1}`, ns: pool.create(), ip: `fd00:56::1${i + 1}`, mac: `02:00:5e:56:00:1${i + 1}` }));
    run("ip", ["-n", sw, "link", "add", "br0", "type", "bridge"]);
    run("ip", ["-n", sw, "link", "set", "br0", "up"]);
    const hosts = [{ ns: router, ip: ROUTER_IP, mac: "02:00:5e:56:00:01" }, ...nodes];
    for (const [i, h] of hosts.entries()) {
      // No DAD anywhere on this link: addresses (link-local too) are usable the moment they are added.
      for (const scope of ["all", "default"]) run("ip", ["netns", "exec", h.ns, "sysctl", "-qw", `net.ipv6.conf.${scope}.accept_dad=0`]);
      run("ip", ["-n", sw, "link", "add", `p${i}`, "type", "veth", "peer", "name", "eth0", "netns", h.ns]);
      run("ip", ["-n", sw, "link", "set", `p${i}`, "master", "br0", "up"]);
      run("ip", ["-n", h.ns, "link", "set", "eth0", "address", h.mac, "up"]);
      run("ip", ["-n", h.ns, "-6", "addr", "add", `${h.ip}/64`, "dev", "eth0", "nodad"]);
    }
  });

  afterAll(() => {
    for (const w of workers) if (w.exitCode === null && w.pid) process.kill(w.pid, "SIGKILL");
    pool.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("moves the router's entry to the new holder within 1 s with one NA; without it the router keeps the old MAC", async () => {
    const [a, b] = nodes as [Node, Node];
    run("ip", ["-n", a.ns, "-6", "addr", "add", `${LB_MOVED_BY_HAND}/128`, "dev", "eth0", "nodad"]);
    expect(await routerPings(LB_MOVED_BY_HAND, 2)).toBe(true);
    expect(await routerMac(LB_MOVED_BY_HAND)).toBe(a.mac);

    run("ip", ["-n", a.ns, "-6", "addr", "del", `${LB_MOVED_BY_HAND}/128`, "dev", "eth0"]);
    run("ip", ["-n", b.ns, "-6", "addr", "add", `${LB_MOVED_BY_HAND}/128`, "dev", "eth0", "nodad"]);
    // The control: held by B, unannounced, the router still sends to A, where nothing answers.
    expect(await routerPings(LB_MOVED_BY_HAND, 0.5)).toBe(false);
    expect(await routerMac(LB_MOVED_BY_HAND)).toBe(a.mac);

    const announcer = startWorker(b, ["announce", "eth0", LB_MOVED_BY_HAND]);
    const seen = await waitFor("router's entry with B's MAC", 10_000, async () => (await routerMac(LB_MOVED_BY_HAND)) === b.mac);
    expect(await exited(announcer), announcer.stderr()).toBe(0);
    const sent = announcer.events.find((e) => e.msg === "advertised");
    expect(sent).toMatchObject({ ip: LB_MOVED_BY_HAND, mac: b.mac });
    const ms = seen - (sent?.t ?? 0);
    console.log(`NA sent → router's neighbour entry on B's MAC: ≤ ${ms} ms`);
    expect(ms).toBeLessThan(1_000);
    expect(await routerPings(LB_MOVED_BY_HAND, 2)).toBe(true);
  });

  it("two speakers on IPv6 heartbeats: the elected one holds a /128 without DAD, the other takes it over and announces it when the first stops", async () => {
    // Roles by MetalLB's election, so the first speaker started is the one that should hold the address.
    const owner = electOwner(LB_OF_SPEAKERS, ["node1", "node2"]);
    const [first, second] = (owner === "node1" ? nodes : [...nodes].reverse()) as [Node, Node];
    const state: ClusterState = {
      services: [{ metadata: { name: "lb", namespace: "default" }, spec: { type: "LoadBalancer", clusterIP: "fd00:96::40", clusterIPs: ["fd00:96::40"], ipFamilies: ["IPv6"], ports: [{ port: 80, protocol: "TCP" }] }, status: { loadBalancer: { ingress: [{ ip: LB_OF_SPEAKERS }] } } }],
      endpointSlices: [],
      pods: [],
      nodes: nodes.map((n) => ({ metadata: { name: n.name }, spec: {}, status: { addresses: [{ type: "InternalIP" as const, address: n.ip }] } })),
    };
    const stateFile = join(dir, "state.json");
    writeFileSync(stateFile, JSON.stringify(state));

    const one = startWorker(first, ["speaker", first.name, first.ip, "eth0", stateFile]);
    // A process start (Node, its bundle, koffi) plus the speaker's 1 s start-up grace: seconds on a busy CI machine.
    await waitFor(`${first.name} holding ${LB_OF_SPEAKERS}`, 10_000, () => heldOn(first, LB_OF_SPEAKERS) !== undefined);
    expect(heldOn(first, LB_OF_SPEAKERS)).toMatchObject({ prefixlen: 128, nodad: true });
    expect(heldOn(first, LB_OF_SPEAKERS)?.tentative).toBeUndefined();
    expect(await routerPings(LB_OF_SPEAKERS, 2)).toBe(true);
    expect(await routerMac(LB_OF_SPEAKERS)).toBe(first.mac);

    // Past the second's start-up second: had it not heard the first over IPv6, it would take the address too.
    const two = startWorker(second, ["speaker", second.name, second.ip, "eth0", stateFile]);
    await new Promise((r) => setTimeout(r, 1_800));
    expect(heldOn(second, LB_OF_SPEAKERS), two.stderr()).toBeUndefined();
    expect(heldOn(first, LB_OF_SPEAKERS)).toBeDefined();

    const stoppedAt = Date.now();
    one.child.kill("SIGTERM");
    expect(await exited(one), one.stderr()).toBe(0);
    expect(heldOn(first, LB_OF_SPEAKERS)).toBeUndefined(); // released: the /128 is gone
    const seen = await waitFor("router's entry with the second node's MAC", 4_000, async () => (await routerMac(LB_OF_SPEAKERS)) === second.mac);
    const announced = two.events.find((e) => e.msg === "announcing LoadBalancer address" && e.ip === LB_OF_SPEAKERS);
    expect(announced, two.stderr()).toMatchObject({ node: second.name, alive: [second.name] });
    expect(two.events.filter((e) => e.msg === "cannot announce LoadBalancer address")).toEqual([]);
    const fromAnnounce = seen - (announced?.t ?? 0);
    console.log(`speaker failover: stop → router on the new MAC ${seen - stoppedAt} ms; announce → router's entry ≤ ${fromAnnounce} ms`);
    expect(fromAnnounce).toBeLessThan(1_000);
    expect(seen - stoppedAt).toBeLessThan(2_500);
    expect(heldOn(second, LB_OF_SPEAKERS)).toMatchObject({ prefixlen: 128, nodad: true });
    expect(await routerPings(LB_OF_SPEAKERS, 2)).toBe(true);
  });
});
