// weftd's side of drop logging: it reads the NFLOG group the compiled log rules send to (in the
// node's network namespace, where weftd runs), maps each packet's prefix back to the rule that dropped
// it and its addresses to pods, and writes one JSON line per packet through its logger. The kernel's
// `limit` caps each rule; weftd caps its own lines per second on top and counts what it held back.
// Logging is optional: a group that cannot be bound is said once and retried now and then, never a
// readiness problem, and the drops happen in the kernel whether or not this reader runs.
import type { NflogDrain, NflogPacket } from "../netlink/index.js";
import { parsePacketHeaders } from "../netlink/index.js";
import type { Logger } from "./log.js";
import type { DropLogMetrics } from "./policy-metrics.js";
import { canonicalIp } from "./policy/cidr.js";
import { DROP_LOG_PREFIX, type DropRuleInfo } from "./policy/drop-log.js";
import { networkPoliciesIsolating } from "./policy/network-policy-tier.js";
import type { Cluster, PodInfo } from "./policy/types.js";

export const DROP_LOG_MESSAGE = "network policy dropped a packet";
const DRAIN_MS = 200;
const REOPEN_MS = 60_000;
const SUMMARY_MS = 10_000;

export interface DropLogReader {
  drain(): NflogDrain;
  close(): void;
}

export interface DropLoggerDeps {
  group: number;
  /** weftd's cap on lines per second (a burst of as many is allowed). */
  linesPerSecond: number;
  /** Binds the group in weftd's namespace (NflogReader.open); throws when it cannot. */
  open: (group: number) => DropLogReader;
  metrics: DropLogMetrics;
  log: () => Logger;
  now?: () => number;
}

interface Endpoint {
  ip: string;
  pod?: string;
}

export class DropLogger {
  private reader: DropLogReader | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastOpenFailure = -Infinity;
  private failureSaid = false;
  /** The current table's prefixes and the previous one's: a packet logged just before a change still finds its rule. */
  private rules = new Map<string, DropRuleInfo>();
  private latest = new Map<string, DropRuleInfo>();
  private podsByIp = new Map<string, PodInfo>();
  private cluster: Cluster | undefined;
  private tokens: number;
  private lastRefill: number;
  private suppressedSinceSummary = 0;
  private lastSummary: number;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly d: DropLoggerDeps) {
    this.now = d.now ?? Date.now;
    this.tokens = d.linesPerSecond;
    this.lastRefill = this.lastSummary = this.now();
  }

  /** After each compile: the prefixes and pods now in force; the group is read from the first table that logs. */
  follow(rules: Map<string, DropRuleInfo>, cluster: Cluster): void {
    this.rules = new Map([...this.latest, ...rules]);
    this.latest = rules;
    this.cluster = cluster;
    this.podsByIp = new Map(cluster.pods.filter((p) => !p.hostNetwork).flatMap((p) => p.ips.map((ip) => [canonicalIp(ip), p] as const)));
    if (rules.size > 0) this.ensureReading();
  }

  private ensureReading(): void {
    if (this.reader || this.stopped || this.now() - this.lastOpenFailure < REOPEN_MS) return;
    try {
      this.reader = this.d.open(this.d.group);
    } catch (err) {
      this.lastOpenFailure = this.now();
      this.d.metrics.reading.set(0);
      if (!this.failureSaid) this.d.log().warn({ group: this.d.group, err: (err as Error).message }, "cannot read NFLOG group for drop logging (no nfnetlink_log in this kernel, or another process holds the group: see --policy-log-group); dropped packets are not logged, policy is enforced all the same; retrying every minute");
      this.failureSaid = true;
      return;
    }
    if (this.failureSaid) this.d.log().info({ group: this.d.group }, "reading NFLOG group for drop logging after all");
    this.failureSaid = false;
    this.d.metrics.reading.set(1);
    this.d.log().info({ group: this.d.group, linesPerSecond: this.d.linesPerSecond }, "logging packets network policy drops in annotated namespaces");
    this.timer = setInterval(() => this.drain(), DRAIN_MS);
    this.timer.unref();
  }

  /** Everything the kernel logged since the last drain, as lines (public for tests; the timer calls it). */
  drain(): void {
    if (!this.reader) return;
    let got: NflogDrain;
    try {
      got = this.reader.drain();
    } catch (err) {
      this.d.log().warn({ group: this.d.group, err: (err as Error).message }, "reading the NFLOG group failed; binding it again");
      this.closeReader();
      this.ensureReading();
      return;
    }
    if (got.overruns > 0) this.d.metrics.overruns.inc(got.overruns);
    for (const p of got.packets) if (p.prefix.startsWith(DROP_LOG_PREFIX)) this.line(p);
    this.summarize();
  }

  private take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.d.linesPerSecond, this.tokens + ((now - this.lastRefill) / 1000) * this.d.linesPerSecond);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private line(p: NflogPacket): void {
    if (!this.take()) {
      this.d.metrics.suppressed.inc();
      this.suppressedSinceSummary++;
      return;
    }
    const h = parsePacketHeaders(p.payload);
    const info = this.rules.get(p.prefix);
    const src = this.endpoint(h?.src);
    const dst = this.endpoint(h?.dst);
    const fields: Record<string, unknown> = { src, dst, protocol: h?.protocol ?? "unknown", ...(h?.dstPort !== undefined ? { port: h.dstPort } : {}) };
    if (info) {
      Object.assign(fields, { direction: info.direction, tier: info.tier }, info.policy ? { policy: info.policy } : {}, info.rule ? { rule: info.rule } : {});
      const isolatedBy = info.tier === "NetworkPolicy" ? this.isolatedBy(info, info.direction === "ingress" ? dst : src) : undefined;
      if (isolatedBy?.length) fields.isolatedBy = isolatedBy;
      if (!info.policy) fields.reason = info.reason;
    } else fields.reason = "a rule of an earlier policy table";
    fields.ruleId = p.prefix;
    this.d.metrics.lines.inc();
    this.d.log().info(fields, DROP_LOG_MESSAGE);
  }

  /** Every NetworkPolicy isolating the subject pod (the rule names the first by name, as the counters do). */
  private isolatedBy(info: DropRuleInfo, subject: Endpoint): string[] | undefined {
    const pod = this.podsByIp.get(subject.ip);
    if (!pod || !this.cluster) return undefined;
    return networkPoliciesIsolating(this.cluster.networkPolicies, info.direction, pod).map((np) => `${np.metadata.namespace}/${np.metadata.name}`);
  }

  private endpoint(ip: string | undefined): Endpoint {
    if (!ip) return { ip: "unknown" };
    const pod = this.podsByIp.get(ip);
    return pod ? { ip, pod: `${pod.namespace}/${pod.name}` } : { ip };
  }

  /** One line per SUMMARY_MS at most while the cap holds lines back: what the log lacks is said in it. */
  private summarize(): void {
    if (this.suppressedSinceSummary === 0 || this.now() - this.lastSummary < SUMMARY_MS) return;
    this.d.log().warn({ suppressed: this.suppressedSinceSummary, linesPerSecond: this.d.linesPerSecond, sinceMs: this.now() - this.lastSummary }, "drop log lines held back over --policy-log-rate");
    this.suppressedSinceSummary = 0;
    this.lastSummary = this.now();
  }

  private closeReader(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.reader?.close();
    this.reader = undefined;
    this.d.metrics.reading.set(0);
  }

  stop(): void {
    this.stopped = true;
    this.closeReader();
  }
}
