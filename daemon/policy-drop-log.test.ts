// weftd's drop-log reader over a scripted NFLOG group: the lines it writes (pods by address, the rule
// by prefix, every isolating policy), its own rate cap and what it counts, and a group it cannot bind
// (said once, retried, never thrown).
import pino from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { NflogPacket } from "../netlink/index.js";
import { DROP_LOG_MESSAGE, DropLogger, type DropLogReader } from "./policy-drop-log.js";
import { DropLogMetrics } from "./policy-metrics.js";
import type { DropRuleInfo } from "./policy/drop-log.js";
import type { Cluster } from "./policy/types.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
/** TCP 10.244.2.3:50000 → 10.244.1.3:8080. */
const TCP = hex("45000034 00004000 4006 0000 0af40203 0af40103 c350 1f90 00000000");
/** UDP 10.244.1.3:40000 → 192.0.2.9:53. */
const UDP_OUT = hex("45000034 00004000 4011 0000 0af40103 c0000209 9c40 0035 0008 0000");

const cluster: Cluster = {
  namespaces: [{ name: "x", labels: {}, policyLog: true }, { name: "y", labels: {} }],
  pods: [
    { namespace: "x", name: "a", labels: { app: "a" }, ips: ["10.244.1.3"], node: "node1", ports: [] },
    { namespace: "y", name: "d", labels: { app: "d" }, ips: ["10.244.2.3"], node: "node2", ports: [] },
  ],
  nodes: [],
  networkPolicies: [
    { metadata: { name: "deny-all", namespace: "x" }, spec: { podSelector: {} } },
    { metadata: { name: "a-only", namespace: "x" }, spec: { podSelector: { matchLabels: { app: "a" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "z" } } }] }] } },
  ],
  clusterNetworkPolicies: [],
};
const RULES = new Map<string, DropRuleInfo>([
  ["weft:0000000001", { direction: "ingress", tier: "NetworkPolicy", policy: "x/a-only", reason: "isolated by NetworkPolicy x/a-only" }],
  ["weft:0000000002", { direction: "egress", tier: "Admin", policy: "no-dns", rule: "deny-dns", reason: "Admin tier: ClusterNetworkPolicy no-dns rule deny-dns denies" }],
  ["weft:0000000003", { direction: "ingress", tier: "NetworkPolicy", reason: "isolated by a NetworkPolicy, no rule allows" }],
]);
const packet = (prefix: string, payload: Buffer): NflogPacket => ({ group: 7, family: 2, prefix, payload });

function setup(o: { rate?: number; openFails?: number } = {}) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const registry = new Registry();
  const metrics = new DropLogMetrics(registry);
  const queue: NflogPacket[] = [];
  let now = 1_000_000;
  let failures = o.openFails ?? 0;
  const opened: number[] = [];
  const reader: DropLogReader = { drain: () => ({ packets: queue.splice(0), overruns: 0 }), close: () => undefined };
  const logger = new DropLogger({
    group: 7,
    linesPerSecond: o.rate ?? 100,
    open: (group) => {
      opened.push(group);
      if (failures-- > 0) throw new Error("netlink: bind NFLOG group 7: Device or resource busy");
      return reader;
    },
    metrics,
    log: () => log,
    now: () => now,
  });
  const value = async (name: string): Promise<number> => (await registry.getSingleMetric(name)!.get()).values[0]?.value ?? 0;
  return { lines, queue, logger, opened, value, advance: (ms: number) => (now += ms), drops: () => lines.filter((l) => l.msg === DROP_LOG_MESSAGE) };
}

describe("DropLogger", () => {
  it("writes one line per packet: pods by address, protocol and port, the rule, every policy isolating the pod", async () => {
    const t = setup();
    t.logger.follow(RULES, cluster);
    t.queue.push(packet("weft:0000000001", TCP), packet("weft:0000000002", UDP_OUT), packet("weft:0000000003", TCP));
    t.logger.drain();
    const [a, b, c] = t.drops();
    expect(a).toMatchObject({ level: 30, src: { ip: "10.244.2.3", pod: "y/d" }, dst: { ip: "10.244.1.3", pod: "x/a" }, protocol: "TCP", port: 8080, direction: "ingress", tier: "NetworkPolicy", policy: "x/a-only", isolatedBy: ["x/a-only", "x/deny-all"], ruleId: "weft:0000000001" });
    expect(a).not.toHaveProperty("reason");
    // An address no pod has is the address alone.
    expect(b).toMatchObject({ src: { ip: "10.244.1.3", pod: "x/a" }, dst: { ip: "192.0.2.9" }, protocol: "UDP", port: 53, direction: "egress", tier: "Admin", policy: "no-dns", rule: "deny-dns" });
    expect(b!.dst).toEqual({ ip: "192.0.2.9" });
    expect(c).toMatchObject({ reason: "isolated by a NetworkPolicy, no rule allows", isolatedBy: ["x/a-only", "x/deny-all"] });
    expect(await t.value("weft_policy_drop_log_lines_total")).toBe(3);
    expect(await t.value("weft_policy_drop_log_reading")).toBe(1);
  });

  it("ignores another user's prefixes; names a prefix of the table before last as such; keeps the previous table's", () => {
    const t = setup();
    t.logger.follow(RULES, cluster);
    t.logger.follow(new Map([["weft:0000000009", RULES.get("weft:0000000001")!]]), cluster);
    t.queue.push(packet("ulogd: ", TCP), packet("weft:0000000001", TCP), packet("weft:ffffffffff", TCP));
    t.logger.drain();
    expect(t.drops().map((l) => l.policy ?? l.reason)).toEqual(["x/a-only", "a rule of an earlier policy table"]);
  });

  it("caps its lines per second, counts the rest, and says how many it held back", async () => {
    const t = setup({ rate: 2 });
    t.logger.follow(RULES, cluster);
    for (let i = 0; i < 5; i++) t.queue.push(packet("weft:0000000001", TCP));
    t.logger.drain();
    expect(t.drops()).toHaveLength(2);
    expect(await t.value("weft_policy_drop_log_suppressed_total")).toBe(3);
    t.advance(10_000); // the bucket refills (to 2) and the summary is due
    for (let i = 0; i < 3; i++) t.queue.push(packet("weft:0000000001", TCP));
    t.logger.drain();
    expect(t.drops()).toHaveLength(4);
    expect(t.lines.find((l) => /held back/.test(String(l.msg)))).toMatchObject({ level: 40, suppressed: 4 });
  });

  it("reads nothing while no table logs; a group it cannot bind is said once, never thrown, retried after a minute", async () => {
    const t = setup({ openFails: 2 });
    t.logger.follow(new Map(), cluster);
    expect(t.opened).toEqual([]);
    t.logger.follow(RULES, cluster);
    t.logger.follow(RULES, cluster);
    expect(t.opened).toEqual([7]);
    expect(await t.value("weft_policy_drop_log_reading")).toBe(0);
    t.advance(61_000);
    t.logger.follow(RULES, cluster);
    t.advance(61_000);
    t.logger.follow(RULES, cluster);
    expect(t.opened).toEqual([7, 7, 7]);
    const warnings = t.lines.filter((l) => /cannot read NFLOG group/.test(String(l.msg)));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, group: 7, err: expect.stringContaining("busy") });
    expect(t.lines.some((l) => /after all/.test(String(l.msg)))).toBe(true);
    expect(await t.value("weft_policy_drop_log_reading")).toBe(1);
    t.logger.stop();
    expect(await t.value("weft_policy_drop_log_reading")).toBe(0);
  });
});
