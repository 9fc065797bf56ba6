// Drop logging in a 2-node lab driven by kubectl: a namespace annotated weft.dev/policy-log: "true"
// gets log rules in the kernel, and weftd on the node that dropped a connection writes a JSON line
// naming both pods, the port, the protocol and the policy (NetworkPolicy isolation on the destination's
// node; a ClusterNetworkPolicy egress Deny on the source's); without the annotation the same denied
// connections write nothing; a group weftd cannot bind costs the log, never readiness or the drop.
// Every connection is checked to have been denied.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { inNetns, NflogReader } from "../../netlink/index.js";
import { eventually, metricValue, readyz, useLab } from "../helpers/lab.js";

const X = "pl-x";
const Y = "pl-y";
const DROPPED = "network policy dropped a packet";
const ANNOTATION = "weft.dev/policy-log";

const PODS = `
apiVersion: v1
kind: Namespace
metadata: {name: ${X}, labels: {team: tx}, annotations: {${ANNOTATION}: "true"}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ${Y}, labels: {team: ty}}
${[
  [X, "a", "node1"],
  [X, "b", "node2"],
  [Y, "c", "node2"],
  [Y, "d", "node1"],
]
  .map(([ns, name, node]) => `---\napiVersion: v1\nkind: Pod\nmetadata: {name: ${name}, namespace: ${ns}, labels: {app: ${name}}}\nspec: {nodeName: ${node}, containers: [{name: s, image: agnhost, ports: [{containerPort: 8080}]}]}\n`)
  .join("")}`;

interface DropLine {
  msg: string;
  src: { ip: string; pod?: string };
  dst: { ip: string; pod?: string };
  protocol: string;
  port?: number;
  direction: string;
  tier: string;
  policy?: string;
  rule?: string;
  time: string;
}

describe("drop logging for network policy, per namespace", () => {
  const { lab, stateDir, status, kubectl, podIp } = useLab("pl", ["--nodes", "2", "--pods-per-node", "1", "--ip-family", "dual"]);
  const k = (...args: string[]): string => kubectl(args);
  const apply = (yaml: string): string => kubectl(["apply", "-f", "-"], yaml);
  const ip = podIp;
  const reaches = (ns: string, from: string, host: string): boolean => {
    const r = lab("exec", "-n", ns, from, "--", "curl", "-s", "--connect-timeout", "1", "-m", "2", `http://${host}:8080/hostname`);
    return r.code === 0 && r.out.trim().length > 0;
  };
  /** The pod's network namespace, from its kubelet's log: a probe from there is timed without the lab's exec. */
  const podNetns = (ns: string, pod: string): string => {
    const logs = ["node1", "node2"].map((n) => readFileSync(join(stateDir, n, "kubelet.log"), "utf8")).join("\n");
    const line = logs.split("\n").find((l) => l.includes(`"pod":"${ns}/${pod}"`) && l.includes('"pod started"'));
    return (JSON.parse(line ?? "{}") as { netns?: string }).netns ?? "";
  };
  const inPod = (netns: string, script: string): number => spawnSync("ip", ["netns", "exec", netns, "bash", "-c", script], { encoding: "utf8" }).status ?? -1;
  const nodeNs = (node: string): string => status().nodes.find((n) => n.name === node)!.netns;
  const table = (node: string): string => spawnSync("ip", ["netns", "exec", nodeNs(node), "nft", "list", "table", "inet", "weft-policy"], { encoding: "utf8" }).stdout;
  const weftdLog = (node: string): string[] => readFileSync(join(stateDir, node, "weftd.log"), "utf8").split("\n");
  const drops = (node: string): DropLine[] =>
    weftdLog(node)
      .filter((l) => l.includes(DROPPED))
      .map((l) => JSON.parse(l) as DropLine);
  let A = "";
  let A6 = "";
  let B = "";

  beforeAll(() => {
    apply(PODS);
    for (const ns of [X, Y]) k("wait", "--for=condition=Ready", "pod", "--all", "-n", ns, "--timeout=60s");
    [A, B] = [ip(X, "a"), ip(X, "b")];
    A6 = k("get", "pod", "-n", X, "a", "-o", "jsonpath={.status.podIPs[1].ip}").trim();
  }, 120_000);

  it("a default-deny ingress in the annotated namespace: the destination's node logs each denied connection, from across nodes and from its own", async () => {
    expect(reaches(Y, "c", A)).toBe(true);
    apply(`apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny-all, namespace: ${X}}\nspec: {podSelector: {}}\n`);
    await eventually("x/a isolated from y/c", () => !reaches(Y, "c", A), 5_000);
    // The kernel's table: x/a in the logged set, log twins sending to weftd's group.
    const t = table("node1");
    expect(t).toMatch(new RegExp(`set log-pods-v4 \\{[^}]*elements = \\{[^}]*${A.replace(/\./g, "\\.")}`));
    expect(t).toMatch(/ip daddr @log-pods-v4 limit rate 10\/second burst 20 packets log prefix "weft:[0-9a-f]{10}" group 30565/);
    const before = drops("node1").length;
    const tried = Date.now();
    expect(inPod(podNetns(Y, "c"), `curl -s --connect-timeout 1 -m 2 http://${A}:8080/hostname`)).not.toBe(0); // from node2
    expect(reaches(Y, "d", A)).toBe(false); // from node1, over the bridge
    const fromTo = (src: string, dst: string) => (l: DropLine) => l.src.pod === src && l.dst.pod === dst;
    await eventually("node1's weftd logged both denied connections", () => drops("node1").slice(before).some(fromTo(`${Y}/c`, `${X}/a`)) && drops("node1").slice(before).some(fromTo(`${Y}/d`, `${X}/a`)), 5_000);
    const line = drops("node1").slice(before).find(fromTo(`${Y}/c`, `${X}/a`))!;
    expect(line).toMatchObject({ src: { ip: ip(Y, "c"), pod: `${Y}/c` }, dst: { ip: A, pod: `${X}/a` }, protocol: "TCP", port: 8080, direction: "ingress", tier: "NetworkPolicy", policy: `${X}/deny-all` });
    process.stderr.write(`drop log line ${Date.parse(line.time) - tried} ms after the first SYN: ${JSON.stringify(line)}\n`);
    expect(metricValue(nodeNs("node1"), "weft_policy_drop_log_lines_total")).toBeGreaterThanOrEqual(2);
    expect(metricValue(nodeNs("node1"), "weft_policy_drop_log_reading")).toBe(1);
    // IPv6 alike: x/a's IPv6 address in log-pods-v6, a denied connection to it logged with both pods.
    expect(A6).toContain(":");
    expect(table("node1")).toMatch(new RegExp(`set log-pods-v6 \\{[^}]*elements = \\{[^}]*${A6}`));
    const before6 = drops("node1").length;
    expect(inPod(podNetns(Y, "c"), `curl -s -g --connect-timeout 1 -m 2 http://[${A6}]:8080/hostname`)).not.toBe(0);
    await eventually("node1's weftd logged the denied IPv6 connection", () => drops("node1").slice(before6).some((l) => l.dst.ip === A6 && fromTo(`${Y}/c`, `${X}/a`)(l)), 5_000);
    expect(drops("node1").slice(before6).find((l) => l.dst.ip === A6)).toMatchObject({ src: { pod: `${Y}/c` }, dst: { ip: A6, pod: `${X}/a` }, protocol: "TCP", port: 8080, direction: "ingress", policy: `${X}/deny-all` });
    // The source's node judged nothing: no line there.
    expect(drops("node2").filter(fromTo(`${Y}/c`, `${X}/a`))).toEqual([]);
  }, 60_000);

  it("a flood is cut by the rule's kernel limit (10/s, burst 20): 300 denied datagrams in well under a second make about 20 lines", async () => {
    const before = drops("node1").length;
    const started = Date.now();
    expect(inPod(podNetns(Y, "c"), `exec 3>/dev/udp/${A}/8080; for i in $(seq 300); do echo x >&3; done`)).toBe(0);
    const sentMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 1_000));
    const udp = drops("node1").slice(before).filter((l) => l.protocol === "UDP" && l.src.pod === `${Y}/c` && l.port === 8080);
    process.stderr.write(`flood: 300 datagrams sent in ${sentMs} ms, ${udp.length} lines\n`);
    expect(udp.length).toBeGreaterThanOrEqual(15);
    expect(udp.length).toBeLessThanOrEqual(20 + Math.ceil((sentMs / 1000) * 10) + 2);
  }, 30_000);

  it("a ClusterNetworkPolicy egress Deny of an annotated namespace's pod is logged on the source's node with the policy and rule", async () => {
    apply(`apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: pl-admin}\nspec: {tier: Admin, priority: 5, subject: {namespaces: {matchLabels: {team: tx}}}, egress: [{name: no-8080, action: Deny, to: [{namespaces: {matchLabels: {team: ty}}}], protocols: [{tcp: {destinationPort: {number: 8080}}}]}]}\n`);
    const D = ip(Y, "d");
    await eventually("x/b cannot reach y/d", () => !reaches(X, "b", D), 5_000);
    await eventually("node2's weftd logged it", () => drops("node2").some((l) => l.src.pod === `${X}/b` && l.dst.pod === `${Y}/d`), 5_000);
    expect(drops("node2").find((l) => l.src.pod === `${X}/b`)).toMatchObject({ src: { ip: B }, dst: { ip: D }, protocol: "TCP", port: 8080, direction: "egress", tier: "Admin", policy: "pl-admin", rule: "no-8080" });
    k("delete", "clusternetworkpolicy", "pl-admin");
    await eventually("x/b reaches y/d again", () => reaches(X, "b", D), 5_000);
  }, 60_000);

  it("a group weftd cannot bind: said once, /readyz stays 200, the drops happen and reach the group's holder, not weftd's log", async () => {
    const node1 = nodeNs("node1");
    const taken = 4243;
    const holder = inNetns(`/var/run/netns/${node1}`, () => NflogReader.open(taken));
    try {
      const logFrom = weftdLog("node1").length;
      expect(lab("restart-weftd", "node1", `--weftd-args=--policy-log-group ${taken}`).code).toBe(0);
      const since = (): string[] => weftdLog("node1").slice(logFrom);
      await eventually("node1's new weftd applied its table and is ready", () => since().some((l) => l.includes('"kind":"full"')) && readyz(node1).status === 200, 20_000);
      await eventually("weftd said it cannot read the group", () => since().some((l) => l.includes("cannot read NFLOG group")), 5_000);
      expect(table("node1")).toContain(`group ${taken}`);
      const before = drops("node1").length;
      expect(reaches(Y, "c", A)).toBe(false);
      expect(reaches(Y, "d", A)).toBe(false);
      const got: string[] = [];
      await eventually("the holder of the group received the logged SYNs", () => (got.push(...holder.drain().packets.map((p) => p.prefix)), got.some((p) => p.startsWith("weft:"))), 5_000);
      expect(drops("node1").length).toBe(before);
      expect(since().filter((l) => l.includes("cannot read NFLOG group"))).toHaveLength(1);
      expect(readyz(node1)).toMatchObject({ status: 200 });
      expect(metricValue(node1, "weft_policy_drop_log_reading")).toBe(0);
    } finally {
      holder.close();
    }
    const logFrom = weftdLog("node1").length;
    expect(lab("restart-weftd", "node1").code).toBe(0);
    await eventually("node1's weftd back on its default group", () => weftdLog("node1").slice(logFrom).some((l) => l.includes('"kind":"full"')) && readyz(node1).status === 200, 20_000);
    expect(table("node1")).toContain("group 30565");
  }, 90_000);

  it("without the annotation the log rules are gone and new denied connections write no line", async () => {
    k("annotate", "namespace", X, `${ANNOTATION}-`);
    await eventually("node1's table has no log rule and no logged set", () => !/ log prefix |log-pods/.test(table("node1")) && /chain ingress-isolated/.test(table("node1")), 5_000);
    const [before1, before2] = [drops("node1").length, drops("node2").length];
    for (let i = 0; i < 3; i++) {
      expect(reaches(Y, "c", A)).toBe(false);
      expect(reaches(Y, "d", A)).toBe(false);
    }
    // The kernel flushes a logged packet within 100 ms and weftd drains every 200 ms: 2 s is ample.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(drops("node1").length).toBe(before1);
    expect(drops("node2").length).toBe(before2);
  }, 60_000);
});
