// The lab's SCTP probe and server over IPv6, in namespaces of the test's own: the server answers an
// INIT with an INIT ACK that names it, from the address the INIT was sent to, and the exchange crosses
// an ip6tables DNAT with the reply un-NATed by conntrack, as a Service's would be. Packets are counted
// where they arrive. Where the kernel has SCTP sockets the same calls open a real association.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ipJson, NetnsPool, netnsPath, run, uniqueName } from "../helpers/netns.js";

const REPO = resolve(import.meta.dirname, "../..");
const PORT = 8085;
// The probe and the lab's test server (a dual-stack pod's container) in one bundle, run in a namespace
// by nsenter (a namespace is per process).
const AGENT = `
import { runContainer } from "./lab/containers/netexec.ts";
import { sctpExchange } from "./lab/containers/sctp.ts";
const [role, a, b] = process.argv.slice(2);
if (role === "serve") runContainer({ pod: a, namespace: "default", node: "node-1", image: "registry.k8s.io/e2e-test-images/agnhost:2.53", ports: [{ name: "sctp", containerPort: Number(b), protocol: "SCTP" }], clusterState: "", dualStack: true });
else {
  try { console.log(JSON.stringify(sctpExchange(a, Number(b)))); } catch (err) { console.log(JSON.stringify({ error: String(err.message) })); }
}
`;
const KERNEL_SCTP = existsSync("/proc/net/sctp"); // the sctp module is loaded: the agent opens real associations
const METHOD = KERNEL_SCTP ? "association" : "raw INIT/INIT ACK";

interface Answer {
  name?: string;
  ms?: number;
  method?: string;
  from?: string;
  error?: string;
}

const pool = new NetnsPool("s6");
const servers: ChildProcess[] = [];
let dir = "";
let agent = "";

const inNs = (ns: string, args: string[], input?: string): string => run("ip", ["netns", "exec", ns, ...args], input);
const nsenter = (ns: string, args: string[]): string[] => [`--net=${netnsPath(ns)}`, process.execPath, agent, ...args];
const agentEnv = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", NODE_PATH: join(REPO, "node_modules") }; // koffi stays outside the bundle

function probe(ns: string, host: string, port = PORT): Answer {
  const r = spawnSync("nsenter", nsenter(ns, ["probe", host, String(port)]), { encoding: "utf8", env: agentEnv, timeout: 10_000 });
  if (r.status !== 0) throw new Error(`the probe in ${ns} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Answer;
}

/** Starts the test server in `ns` and resolves once it serves SCTP (both families, or kernel sockets). */
function serve(ns: string, name: string): Promise<void> {
  const child = spawn("nsenter", nsenter(ns, ["serve", name, String(PORT)]), { env: agentEnv, stdio: ["ignore", "pipe", "pipe"] });
  servers.push(child);
  let out = "";
  return new Promise((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`the SCTP server in ${ns} did not serve over IPv6 within 10 s: ${out}`)), 10_000);
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (/"family":"IPv6"|kernel sockets/.test(out)) ready(clearTimeout(timer));
    });
    child.on("exit", (code) => fail(new Error(`the SCTP server in ${ns} exited (${code}): ${out}`)));
  });
}

/**
 * A veth pair from `a` to `b` with these addresses on each side (no DAD), returned once both ends are
 * operationally up: until the kernel's link watcher runs (up to a second) a first packet is dropped.
 */
async function link(a: string, aAddrs: string[], b: string, bAddrs: string[]): Promise<void> {
  const ends = [[a, uniqueName("s6a"), aAddrs], [b, uniqueName("s6b"), bAddrs]] as const;
  run("ip", ["-n", a, "link", "add", ends[0][1], "type", "veth", "peer", "name", ends[1][1], "netns", b]);
  for (const [ns, dev, addrs] of ends) {
    for (const addr of addrs) run("ip", ["-n", ns, "addr", "add", addr, "dev", dev, ...(addr.includes(":") ? ["nodad"] : [])]);
    run("ip", ["-n", ns, "link", "set", dev, "up"]);
  }
  const up = (): boolean => ends.every(([ns, dev]) => ipJson<{ operstate: string }[]>(ns, ["link", "show", "dev", dev])[0]?.operstate === "UP");
  for (let waited = 0; !up(); waited += 20) {
    if (waited > 5_000) throw new Error(`the veth between ${a} and ${b} is not up after 5 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An nftables counter of the test's own in `ns` (table ip6 sctpwatch) for SCTP packets matching `match`, per hook. */
function watchSctp(ns: string, rules: { input?: string; output?: string }): (hook: "input" | "output") => number {
  const chain = (hook: string, match?: string): string => (match ? ` chain ${hook} {\n  type filter hook ${hook} priority 0; policy accept;\n  meta l4proto sctp ${match} counter\n }\n` : "");
  inNs(ns, ["nft", "-f", "-"], `table ip6 sctpwatch {\n${chain("input", rules.input)}${chain("output", rules.output)}}\n`);
  return (hook) => {
    const out = JSON.parse(inNs(ns, ["nft", "-j", "list", "chain", "ip6", "sctpwatch", hook])) as { nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[] };
    return out.nftables.flatMap((i) => i.rule?.expr ?? []).find((e) => e.counter)?.counter?.packets ?? -1;
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "weft-sctp6-"));
  agent = join(dir, "sctp-agent.cjs");
  await build({ stdin: { contents: AGENT, resolveDir: REPO, loader: "ts", sourcefile: "sctp-agent.ts" }, outfile: agent, bundle: true, platform: "node", format: "cjs", target: "node20", external: ["koffi"], logLevel: "silent" });
});

afterAll(() => {
  for (const s of servers) s.kill("SIGKILL");
  pool.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe("SCTP over IPv6 between two namespaces", () => {
  let client = "";
  let server = "";
  let packets: (hook: "input" | "output") => number;

  beforeAll(async () => {
    [client, server] = [pool.create(), pool.create()];
    // The server has two IPv6 addresses on one link: each answer must come from the one dialled.
    await link(client, ["fd00:5c:1::2/64", "192.0.2.2/24"], server, ["fd00:5c:1::1/64", "fd00:5c:1::3/64", "192.0.2.1/24"]);
    packets = watchSctp(server, { input: "ip6 saddr fd00:5c:1::2", output: "ip6 daddr fd00:5c:1::2" });
    await serve(server, "sctp-server-6");
  });

  it("gets an INIT ACK naming the server, from the address the INIT was sent to, one packet each way", () => {
    const answers = ["fd00:5c:1::1", "fd00:5c:1::3", "fd00:5c:1::1"].map((host) => ({ host, answer: probe(client, host) }));
    for (const { host, answer } of answers) {
      expect(answer).toMatchObject({ name: "sctp-server-6", method: METHOD, from: host });
      expect(answer.ms).toBeGreaterThan(0);
      expect(answer.ms).toBeLessThan(500); // a round trip over one veth, well under the probe's 2 s
    }
    // One INIT in and one INIT ACK out per raw exchange (an association has more): the answers are the server's.
    for (const hook of ["input", "output"] as const) {
      if (KERNEL_SCTP) expect(packets(hook)).toBeGreaterThanOrEqual(answers.length);
      else expect(packets(hook)).toBe(answers.length);
    }
  });

  it("answers over IPv4 from the same server as before", () => {
    expect(probe(client, "192.0.2.1")).toMatchObject({ name: "sctp-server-6", method: METHOD, from: "192.0.2.1" });
  });

  it("says what failed when nothing answers", () => {
    expect(probe(client, "fd00:5c:1::1", PORT + 1).error).toMatch(KERNEL_SCTP ? /SCTP connect to fd00:5c:1::1:8086 failed/ : /no SCTP INIT ACK from fd00:5c:1::1:8086 within 2000 ms/);
  });
});

describe("SCTP over IPv6 through an ip6tables DNAT (client → router → server)", () => {
  const SERVICE = "fd00:5c:99::10";
  let client = "";
  let router = "";
  let server = "";
  let arrived: (hook: "input" | "output") => number;

  beforeAll(async () => {
    [client, router, server] = [pool.create(), pool.create(), pool.create()];
    await link(client, ["fd00:5c:2::2/64"], router, ["fd00:5c:2::1/64"]);
    await link(router, ["fd00:5c:3::1/64"], server, ["fd00:5c:3::2/64"]);
    run("ip", ["-n", client, "-6", "route", "add", "default", "via", "fd00:5c:2::1"]);
    run("ip", ["-n", server, "-6", "route", "add", "default", "via", "fd00:5c:3::1"]);
    inNs(router, ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"]);
    // The server sees the client's own address (no SNAT) on its own address and port.
    arrived = watchSctp(server, { input: `ip6 saddr fd00:5c:2::2 ip6 daddr fd00:5c:3::2 sctp dport ${PORT}` });
    await serve(server, "sctp-server-nat");
  });

  it("has no way to the service address before the DNAT", () => {
    expect(probe(client, SERVICE, 80).error).toMatch(/no SCTP INIT ACK|SCTP connect .* failed/);
  });

  it("reaches the server through the DNAT and gets the reply from the service address and port (conntrack undid the NAT)", () => {
    inNs(router, ["ip6tables", "-t", "nat", "-A", "PREROUTING", "-d", SERVICE, "-p", "sctp", "-m", "sctp", "--dport", "80", "-j", "DNAT", "--to-destination", `[fd00:5c:3::2]:${PORT}`]);
    const before = arrived("input");
    const answers = [0, 1, 2].map(() => probe(client, SERVICE, 80));
    for (const a of answers) expect(a).toMatchObject({ name: "sctp-server-nat", method: METHOD, from: SERVICE });
    // Each exchange (a new source port) is a new conntrack entry: the rule saw its first packet once each.
    const rule = inNs(router, ["ip6tables-save", "-c", "-t", "nat"]).split("\n").find((l) => l.includes("-j DNAT"));
    expect(rule).toMatch(new RegExp(`^\\[3:\\d+\\] -A PREROUTING -d ${SERVICE}/128 -p sctp -m sctp --dport 80 -j DNAT --to-destination \\[fd00:5c:3::2\\]:${PORT}$`));
    const inits = arrived("input") - before;
    if (KERNEL_SCTP) expect(inits).toBeGreaterThanOrEqual(3);
    else expect(inits).toBe(3);
  });

  it("refuses a reply that no NAT undid (a stateless rewrite, untracked): a real endpoint would drop it", () => {
    // The INIT's destination rewritten before conntrack sees it: the server's reply goes back with its own address.
    inNs(router, ["nft", "-f", "-"], `table ip6 stateless {\n chain pre {\n  type filter hook prerouting priority -300; policy accept;\n  ip6 daddr ${SERVICE} sctp dport ${PORT} notrack ip6 daddr set fd00:5c:3::2\n }\n}\n`);
    const a = probe(client, SERVICE, PORT);
    if (KERNEL_SCTP) expect(a.error).toMatch(/SCTP connect/);
    else expect(a.error).toBe(`the INIT ACK for ${SERVICE}:${PORT} came from fd00:5c:3::2:${PORT}: a NAT on the way did not undo its translation (check its conntrack)`);
  });
});
