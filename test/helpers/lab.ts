// A lab of its own for an e2e test file: a private state dir and namespace prefix, brought up before
// the tests and torn down after them whatever happened.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";

export const LAB = resolve(import.meta.dirname, "../../dist/lab/weft-lab.cjs");

export interface LabStatus {
  etcd: { netns: string; endpoints: string[] };
  nodes: { name: string; netns: string; underlayIp: string; subnet: string; weftdPid: number; pods: { name: string; netns: string; ip: string }[] }[];
}

export function useLab(tag: string, upArgs: string[]) {
  // Named now, made in beforeAll: a suite that a filter skips must not leave an empty dir behind.
  const stateDir = join(tmpdir(), `weft-lab-${tag}-${process.pid}-${randomBytes(3).toString("hex")}`);
  const env = { ...process.env, WEFT_LAB_STATE_DIR: stateDir, WEFT_LAB_PREFIX: `w${tag}${process.pid % 10000}-` };
  /** A lab command run to its end (at most `timeoutMs`): its exit code and output. */
  const labFor = (timeoutMs: number, ...args: string[]): { code: number; out: string; err: string } => {
    const r = spawnSync(process.execPath, [LAB, ...args], { env, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
  const lab = (...args: string[]): { code: number; out: string; err: string } => labFor(120_000, ...args);
  beforeAll(() => {
    if (!existsSync(LAB)) throw new Error(`${LAB} is missing: run npm run build first`);
    mkdirSync(stateDir, { mode: 0o700 });
    const r = lab("up", ...upArgs);
    if (r.code !== 0) throw new Error(`lab up failed: ${r.err}`);
  }, 180_000);
  // A lab test that fails in CI leaves nothing to read once the lab is down: print the tail of each
  // node's weftd log with the failure, where the CI log keeps it.
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") process.stderr.write(weftdLogTails(stateDir));
  });
  afterAll(() => {
    lab("down");
    rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);
  /** A lab command run without waiting for it: resolves to its exit code. */
  const labInBackground = (...args: string[]): Promise<number> =>
    new Promise((resolve) => spawn(process.execPath, [LAB, ...args], { env, stdio: "ignore" }).on("exit", (code) => resolve(code ?? -1)));
  let kubeconfig = "";
  /** kubectl with the lab's kubeconfig: its output, or an error carrying kubectl's own message. */
  const kubectl = (args: string[], input?: string): string => {
    kubeconfig ||= lab("kubeconfig").out.trim();
    const r = spawnSync("kubectl", ["--kubeconfig", kubeconfig, ...args], { input, encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  /** A pod's first address, as its status has it. */
  const podIp = (ns: string, pod: string): string => kubectl(["get", "pod", "-n", ns, pod, "-o", "jsonpath={.status.podIP}"]).trim();
  return { lab, labFor, labInBackground, stateDir, kubectl, podIp, status: (): LabStatus => JSON.parse(lab("status", "--json").out) as LabStatus };
}

const TAIL_LINES = 40;

/** The last lines of every node's weftd and kubelet log and of the control plane's in a lab's state dir, each under its name. */
export function weftdLogTails(stateDir: string): string {
  if (!existsSync(stateDir)) return "";
  let out = "";
  const tail = (where: string, log: string): void => {
    if (!existsSync(log)) return;
    const lines = readFileSync(log, "utf8").trimEnd().split("\n");
    out += `--- ${where}, last ${Math.min(TAIL_LINES, lines.length)} of ${lines.length} lines\n${lines.slice(-TAIL_LINES).join("\n")}\n`;
  };
  // Each node's weftd and kubelet; the control plane's controller manager and API server.
  for (const entry of readdirSync(stateDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const log of ["weftd.log", "kubelet.log"]) tail(`${entry.name}: ${log}`, join(stateDir, entry.name, log));
  }
  for (const log of ["controller.log", "apiserver.log"]) tail(log, join(stateDir, log));
  return out;
}

/** Pings from a namespace: what was sent and what came back. */
export function ping(fromNs: string, to: string, count = 3, interval = "0.2"): { sent: number; received: number } {
  const r = spawnSync("ip", ["netns", "exec", fromNs, "ping", "-q", "-c", String(count), "-i", interval, "-W", "1", to], { encoding: "utf8" });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { sent: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0) };
}

export async function eventually(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  const holds = (): boolean => {
    try {
      return check();
    } catch {
      return false; // e.g. the device is not back yet
    }
  };
  while (!holds()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function readyz(nodeNs: string): { status: number; body: string } {
  const script = "fetch('http://127.0.0.1:9901/readyz').then(async r=>console.log(JSON.stringify({status:r.status,body:await r.text()}))).catch(e=>console.log(JSON.stringify({status:0,body:String(e)})))";
  const r = spawnSync("nsenter", [`--net=/var/run/netns/${nodeNs}`, process.execPath, "-e", script], { encoding: "utf8" });
  return JSON.parse(r.stdout || '{"status":0,"body":""}') as { status: number; body: string };
}

export function metricValue(nodeNs: string, name: string): number {
  const script = "fetch('http://127.0.0.1:9901/metrics').then(r=>r.text()).then(t=>console.log(t)).catch(()=>{})";
  const text = spawnSync("nsenter", [`--net=/var/run/netns/${nodeNs}`, process.execPath, "-e", script], { encoding: "utf8" }).stdout;
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : NaN;
}
