// --policy-strict with real traffic: a long-lived TCP stream between two pods on different nodes, then a
// policy that denies it. By default an established connection keeps the verdict of its first packet
// (the stream goes on, a new connection is refused); with --policy-strict weftd marks the flow's
// conntrack entry as cut on the node that judges it, the stream stops within the sync, and it resumes
// when the policy goes.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, readyz, useLab } from "../helpers/lab.js";

const NS = "ps-x";
const PODS = ["srv", "node1", "cli", "node2"];
const MANIFESTS = `apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
${[0, 2]
  .map((i) => `---\napiVersion: v1\nkind: Pod\nmetadata: {name: ${PODS[i]}, namespace: ${NS}, labels: {app: ${PODS[i]}}}\nspec: {nodeName: ${PODS[i + 1]}, containers: [{name: s, image: agnhost, ports: [{containerPort: 7000, name: tcp-echo}, {containerPort: 8080, name: http}]}]}\n`)
  .join("")}`;
const DENY = `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-ingress, namespace: ${NS}}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n`;

/**
 * Sends a line every 50 ms on one TCP connection and writes how many bytes came back to `out`, each
 * time — by rename, so a reader never sees the file truncated and empty (under load it did, and read
 * a stream that was flowing as one that had stopped).
 */
const STREAM = `const s=require("net").connect(7000,process.argv[1]);let n=0;const fs=require("fs");s.on("data",(d)=>{n+=d.length;fs.writeFileSync(process.argv[2]+".new",String(n));fs.renameSync(process.argv[2]+".new",process.argv[2])});s.on("error",()=>{});setInterval(()=>s.write("ping\\n"),50);setTimeout(()=>process.exit(0),60000);`;

describe("--policy-strict cuts established flows that a change denies; without it they keep their verdict", () => {
  const { lab, stateDir, status, kubectl, podIp } = useLab("ps", ["--nodes", "2", "--pods-per-node", "0"]);
  let prefix = "";
  let srvIp = "";
  const streams: ChildProcess[] = [];
  const netns = (pod: string): string => `${prefix}${NS}.${pod}`;

  /** A stream from cli to srv; returns the echoed byte count as it grows. */
  function startStream(tag: string): () => number {
    const out = join(stateDir, `stream-${tag}`);
    writeFileSync(out, "0");
    streams.push(spawn("ip", ["netns", "exec", netns("cli"), process.execPath, "-e", STREAM, srvIp, out], { stdio: "ignore" }));
    return () => Number(readFileSync(out, "utf8") || 0);
  }
  const newConnection = (): boolean => spawnSync("ip", ["netns", "exec", netns("cli"), "curl", "-s", "--connect-timeout", "1", "-m", "2", `http://${srvIp}:8080/hostname`], { encoding: "utf8" }).status === 0;
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  async function grows(echoed: () => number, ms: number): Promise<boolean> {
    const before = echoed();
    await sleep(ms);
    return echoed() > before;
  }

  /** The stream's established entries on srv's node; `cutOnly`: those --policy-strict marked as cut. */
  const entries = (cutOnly: boolean): number => {
    const node1 = status().nodes.find((n) => n.name === "node1")!.netns;
    return (spawnSync("ip", ["netns", "exec", node1, "conntrack", "-L", "-p", "tcp", "--dst", srvIp, "--dport", "7000", ...(cutOnly ? ["--mark", "0x01000000/0x01000000"] : [])], { encoding: "utf8" }).stdout.match(/ESTABLISHED/g) ?? []).length;
  };
  /** Whether the echoed count stays put over 0.3 s (stopped) or grows (flows), sampled until it does. */
  const stops = (echoed: () => number) => (): boolean => {
    const before = echoed();
    spawnSync("sleep", ["0.3"]);
    return echoed() === before;
  };
  const flows = (echoed: () => number) => (): boolean => {
    const before = echoed();
    spawnSync("sleep", ["0.3"]);
    return echoed() > before;
  };
  const restartWeftds = async (args: string[]): Promise<void> => {
    for (const n of status().nodes) {
      expect(lab("restart-weftd", n.name, ...args).code).toBe(0);
      await eventually(`${n.name}'s weftd ready`, () => readyz(n.netns).status === 200, 30_000);
    }
  };

  beforeAll(() => {
    prefix = (JSON.parse(readFileSync(join(stateDir, "state.json"), "utf8")) as { prefix: string }).prefix;
    kubectl(["apply", "-f", "-"], MANIFESTS);
    kubectl(["wait", "--for=condition=Ready", "pod", "--all", "-n", NS, "--timeout=90s"]);
    srvIp = podIp(NS, "srv");
  }, 120_000);
  afterAll(() => {
    for (const s of streams) s.kill();
  });

  /** What the kernel held for the stream, for a failure's message: conntrack's entries and the policy table's counters on both nodes, and cli's socket (retransmissions, backoff). */
  function kernelState(): string {
    const run = (netns: string, ...cmd: string[]): string => spawnSync("ip", ["netns", "exec", netns, ...cmd], { encoding: "utf8" }).stdout;
    const nodes = status().nodes.map((n) => {
      const established = run(n.netns, "conntrack", "-L", "-p", "tcp", "--dport", "7000").split("\n").filter((l) => !/TIME_WAIT/.test(l)).join("\n");
      const counters = run(n.netns, "nft", "list", "counters", "table", "inet", "weft-policy").replace(/\s+/g, " ");
      const ruleDrops = run(n.netns, "nft", "list", "table", "inet", "weft-policy").split("\n").filter((l) => /counter packets [1-9]/.test(l)).join("\n");
      return `--- ${n.name}: conntrack to :7000 (TIME_WAIT left out)\n${established}\n--- ${n.name}: named counters\n${counters}\n--- ${n.name}: rules that counted packets\n${ruleDrops}`;
    });
    return [...nodes, `--- cli's sockets to :7000\n${run(netns("cli"), "ss", "-tin", "dport", "= :7000")}`].join("\n");
  }

  it("by default the established stream goes on under a policy that denies it, and a new connection is refused", async () => {
    const echoed = startStream("default");
    await eventually("the stream echoes", () => echoed() > 0, 5_000);
    expect(await grows(echoed, 500), `the stream stopped before any policy\n${kernelState()}`).toBe(true);
    kubectl(["apply", "-f", "-"], DENY);
    try {
      await eventually("a new connection to srv is denied", () => !newConnection(), 5_000);
      expect(await grows(echoed, 1000), `the established stream stopped under the policy\n${kernelState()}`).toBe(true);
    } finally {
      kubectl(["delete", "networkpolicy", "deny-ingress", "-n", NS]);
    }
    await eventually("a new connection to srv is allowed again", newConnection, 5_000);
  }, 60_000);

  it("with --policy-strict the stream stops once the policy is applied, its conntrack entry marked as cut on srv's node, and resumes when the policy goes", async () => {
    await restartWeftds(["--weftd-args=--policy-strict"]);
    const echoed = startStream("strict");
    await eventually("the stream echoes", () => echoed() > 0, 5_000);
    expect(await grows(echoed, 500)).toBe(true);
    expect(entries(false)).toBeGreaterThan(0);
    expect(entries(true)).toBe(0);
    const t0 = Date.now();
    kubectl(["apply", "-f", "-"], DENY);
    await eventually("the stream stops echoing", stops(echoed), 5_000);
    process.stderr.write(`policy-strict: the established stream stopped ${Date.now() - t0} ms after kubectl apply returned\n`);
    expect(await grows(echoed, 1000), kernelState()).toBe(false);
    expect(entries(true), kernelState()).toBeGreaterThan(0);
    // Allowed again: the cut flow resumes (at the client's next retransmission) and its mark is gone.
    kubectl(["delete", "networkpolicy", "deny-ingress", "-n", NS]);
    await eventually("the stream echoes again", flows(echoed), 20_000);
    expect(entries(true)).toBe(0);
  }, 150_000);

  it("a weftd started without --policy-strict lets the flows a strict one cut resume, as established flows keep their verdict without it", async () => {
    for (const s of streams) s.kill();
    const echoed = startStream("unstrict");
    await eventually("the stream echoes", () => echoed() > 0, 5_000);
    kubectl(["apply", "-f", "-"], DENY); // the weftds are still strict (the test before)
    try {
      await eventually("the stream stops echoing", stops(echoed), 5_000);
      await eventually("its entry marked as cut", () => entries(true) > 0, 5_000);
      await restartWeftds([]);
      await eventually("the stream echoes again under the policy", flows(echoed), 20_000);
      expect(entries(true), kernelState()).toBe(0);
      expect(newConnection()).toBe(false); // the policy still denies new connections
    } finally {
      kubectl(["delete", "networkpolicy", "deny-ingress", "-n", NS]);
    }
  }, 150_000);
});
