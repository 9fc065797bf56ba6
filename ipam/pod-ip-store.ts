// The node-local pod IP store, used by the CNI plugin on its hot path (as host-local's disk backend):
//   <dataDir>/<network>/<ip>                      one record per held IP, created exclusively (link of a
//                                                 fully written temp file, so a record is never half-written)
//   <dataDir>/<network>/attachments/<cid>:<ifname>  points to the IP, so find, release and re-ADD are O(1)
//   <dataDir>/<network>/last_reserved_ip          where the round-robin search resumes
//   <dataDir>/<network>/lock                      taken around every whole operation (file-lock.ts)
// IPv6 addresses are a store of their own with the same layout under <dataDir>/<network>/ipv6/, so a
// dual-stack pod's two addresses are two records, each found, released and collected as one is.
// Synchronous on purpose: the plugin is a short-lived process and does nothing else meanwhile.
import { existsSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { withFileLock } from "./file-lock.js";
import { intToIpv4, ipv4ToInt, parseIpv4Cidr } from "./ipv4.js";
import { bigIntToIpv6, ipv6ToBigInt, parseIpv6Cidr } from "./ipv6.js";
import { createExclusive, overwriteFile, writeNewFile } from "./store-files.js";
import { isoTimestamp } from "./timestamp.js";

export interface PodAttachment {
  containerId: string;
  ifname: string;
}

export interface PodAllocation extends PodAttachment {
  ip: string;
  prefixLen: number;
  gateway: string;
  podName?: string;
  podNamespace?: string;
  /** ISO time of the allocation. */
  allocatedAt: string;
}

export interface AllocateRequest extends PodAttachment {
  /** The node's subnet, e.g. "10.244.1.0/24". */
  subnet: string;
  gateway: string;
  podName?: string;
  podNamespace?: string;
}

export class IpStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class PoolExhaustedError extends IpStoreError {}

/** A pod as its IP records give it: its address of each family its node had when it was added (one at least). */
export type RecordedPod = PodAttachment & { podName?: string; podNamespace?: string; allocatedAt: string } & ({ ipv4: string; ipv6?: string } | { ipv4?: undefined; ipv6: string });

/** The pod's first address: its IPv4 one, or an IPv6-only pod's IPv6 one (what its MAC and mirror key come from). */
export const firstAddress = (p: { ipv4?: string; ipv6?: string }): string => p.ipv4 ?? p.ipv6 ?? "";

/** Each attachment's records of both stores joined: one pod with its IPv4 and IPv6 addresses (either may be absent). */
export function recordedPods(v4: PodAllocation[], v6: PodAllocation[]): RecordedPod[] {
  const pods = new Map<string, RecordedPod>();
  for (const [family, records] of [["ipv4", v4], ["ipv6", v6]] as const) {
    for (const { ip, prefixLen: _len, gateway: _gw, ...rest } of records) {
      const key = attachmentKey(rest);
      pods.set(key, { ...rest, ...pods.get(key), [family]: ip } as RecordedPod);
    }
  }
  return [...pods.values()];
}
export class InvalidAttachmentError extends IpStoreError {}

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Refuses anything that could escape the data dir or break the file naming. */
export function validateAttachment(att: PodAttachment): void {
  if (att.containerId.length > 1024 || !CONTAINER_ID.test(att.containerId))
    throw new InvalidAttachmentError(`container ID "${att.containerId.slice(0, 80)}" must match ${CONTAINER_ID} (at most 1024 characters)`);
  if (!att.ifname || Buffer.byteLength(att.ifname) > 15 || /[/:\s\0]/.test(att.ifname) || att.ifname === "." || att.ifname === "..")
    throw new InvalidAttachmentError(`interface name "${att.ifname}" must be 1-15 bytes without "/", ":", NUL or white space, and not "." or ".."`);
}

const attachmentKey = (att: PodAttachment): string => `${att.containerId}:${att.ifname}`;

/** One family's addresses as numbers: how a subnet's usable range is found and a record named. */
interface FamilyMath {
  /** First and last address a pod may get (IPv4 keeps its network and broadcast addresses out). */
  usable(subnet: string): { first: bigint; last: bigint; prefixLen: number };
  toInt(ip: string): bigint;
  toText(n: bigint): string;
  record: RegExp;
  /** The longest address text: last_reserved_ip is padded to it (written over, never truncated). */
  maxTextLength: number;
}

const IPV4: FamilyMath = {
  usable(subnet) {
    const s = parseIpv4Cidr(subnet);
    return { first: BigInt(s.network + 1), last: BigInt(s.prefixLen >= 31 ? s.broadcast : s.broadcast - 1), prefixLen: s.prefixLen };
  },
  toInt: (ip) => BigInt(ipv4ToInt(ip)),
  toText: (n) => intToIpv4(Number(n)),
  record: /^\d+\.\d+\.\d+\.\d+$/,
  maxTextLength: "255.255.255.255".length,
};

const IPV6: FamilyMath = {
  usable(subnet) {
    const s = parseIpv6Cidr(subnet);
    return { first: s.network + 1n, last: s.last, prefixLen: s.prefixLen };
  },
  toInt: ipv6ToBigInt,
  toText: bigIntToIpv6,
  record: /^[0-9a-f]*:[0-9a-f:]*$/,
  maxTextLength: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff".length,
};

/** The round-robin search gives up after this many held addresses in a row (an IPv6 /64 has 2^64). */
const MAX_PROBES = 65_536n;

export class PodIpStore {
  readonly dir: string;
  private readonly attachmentsDir: string;
  private readonly math: FamilyMath;

  constructor(opts: { dataDir: string; network: string; family?: 4 | 6 }) {
    if (!NETWORK_NAME.test(opts.network) || opts.network.length > 128) throw new IpStoreError(`network name "${opts.network}" must match ${NETWORK_NAME}`);
    this.dir = opts.family === 6 ? join(opts.dataDir, opts.network, "ipv6") : join(opts.dataDir, opts.network);
    this.attachmentsDir = join(this.dir, "attachments");
    this.math = opts.family === 6 ? IPV6 : IPV4;
  }

  /** Whether this store was ever written (a node's IPv6 store exists only once it was dual-stack). */
  exists(): boolean {
    return existsSync(this.dir);
  }

  private ensureDirs(): void {
    mkdirSync(this.attachmentsDir, { recursive: true, mode: 0o700 });
  }

  private locked<T>(fn: () => T): T {
    this.ensureDirs();
    return withFileLock(join(this.dir, "lock"), fn);
  }

  private createRecord(path: string, data: string): boolean {
    try {
      return createExclusive(path, data);
    } catch (err) {
      throw new IpStoreError(`cannot write ${path}: ${(err as Error).message}`);
    }
  }

  private readRecord(ip: string): PodAllocation | undefined {
    if (!this.math.record.test(ip)) return undefined; // an empty or garbled pointer points at nothing
    let text: string;
    try {
      text = readFileSync(join(this.dir, ip), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new IpStoreError(`cannot read ${join(this.dir, ip)}: ${(err as Error).message}`);
    }
    try {
      return { ip, ...(JSON.parse(text) as Omit<PodAllocation, "ip">) };
    } catch {
      // A record cut short by a crash still holds its IP; it belongs to no attachment we know.
      return { ip, containerId: "", ifname: "", prefixLen: 0, gateway: "", allocatedAt: "" };
    }
  }

  private pointer(att: PodAttachment): string | undefined {
    try {
      return readFileSync(join(this.attachmentsDir, attachmentKey(att)), "utf8").trim();
    } catch {
      return undefined;
    }
  }

  private findLocked(att: PodAttachment): PodAllocation | undefined {
    const ip = this.pointer(att);
    if (!ip) return undefined;
    const rec = this.readRecord(ip);
    // A pointer without its record is what a crash mid-allocate leaves: it holds nothing.
    return rec && rec.containerId === att.containerId && rec.ifname === att.ifname ? rec : undefined;
  }

  find(att: PodAttachment): PodAllocation | undefined {
    validateAttachment(att);
    return this.locked(() => this.findLocked(att));
  }

  allocate(req: AllocateRequest): PodAllocation {
    validateAttachment(req);
    const { first, last, prefixLen } = this.math.usable(req.subnet);
    const gateway = this.math.toInt(req.gateway);
    return this.locked(() => {
      const existing = this.findLocked(req);
      if (existing) return existing;
      const size = last - first + 1n;
      let start = first;
      try {
        const lastReserved = this.math.toInt(readFileSync(join(this.dir, "last_reserved_ip"), "utf8").trim());
        if (lastReserved >= first && lastReserved <= last) start = lastReserved + 1n;
      } catch {
        // first allocation on this node, or a garbled file: start at the beginning
      }
      const probes = size < MAX_PROBES ? size : MAX_PROBES;
      for (let i = 0n; i < probes; i++) {
        const candidate = first + ((start - first + i) % size);
        if (candidate === gateway) continue;
        const ip = this.math.toText(candidate);
        const alloc: PodAllocation = {
          ip,
          containerId: req.containerId,
          ifname: req.ifname,
          prefixLen,
          gateway: req.gateway,
          allocatedAt: isoTimestamp(),
        };
        if (req.podName) alloc.podName = req.podName;
        if (req.podNamespace) alloc.podNamespace = req.podNamespace;
        const { ip: _ip, ...record } = alloc;
        if (existsSync(join(this.dir, ip))) continue;
        // Pointer first, then the record: a crash in between leaves a pointer to nothing, never
        // a held IP that no attachment can find (which would leak until the pod is gone). The pointer
        // and last_reserved_ip are written in place, not renamed over: a crash mid-write garbles one,
        // which reads as pointing at nothing, or as no place to resume from. That spares a file
        // creation and a rename of each (~0.3 ms of an ADD on ext4); only the record must be whole.
        writeNewFile(join(this.attachmentsDir, attachmentKey(req)), ip);
        if (!this.createRecord(join(this.dir, ip), JSON.stringify(record))) continue;
        overwriteFile(join(this.dir, "last_reserved_ip"), ip, this.math.maxTextLength);
        return alloc;
      }
      const held = size < MAX_PROBES ? `all ${size - 1n} pod addresses are held` : `${MAX_PROBES} addresses in a row are held`;
      throw new PoolExhaustedError(`no free address in ${req.subnet}: ${held} (see ${this.dir}); release unused pods or give the node a larger subnet`);
    });
  }

  private releaseLocked(rec: PodAllocation): void {
    // Record first, then pointer: a crash in between leaves only a pointer to nothing.
    for (const path of [join(this.dir, rec.ip), join(this.attachmentsDir, attachmentKey(rec))]) {
      try {
        unlinkSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new IpStoreError(`cannot remove ${path}: ${(err as Error).message}`);
      }
    }
  }

  release(att: PodAttachment): PodAllocation | undefined {
    validateAttachment(att);
    return this.locked(() => {
      const rec = this.findLocked(att);
      if (rec) this.releaseLocked(rec);
      return rec;
    });
  }

  private listLocked(): PodAllocation[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.filter((n) => this.math.record.test(n)).flatMap((n) => this.readRecord(n) ?? []);
  }

  list(): PodAllocation[] {
    return this.locked(() => this.listLocked());
  }

  /** CNI GC: releases every allocation whose attachment is not in `valid`, and returns them. */
  gc(valid: PodAttachment[]): PodAllocation[] {
    const keep = new Set(valid.map(attachmentKey));
    return this.locked(() => {
      // Temp files of writes that a crash cut short: none is being written now, the lock is held.
      for (const dir of [this.dir, this.attachmentsDir]) for (const name of readdirSync(dir)) if (name.endsWith(".tmp")) unlinkSync(join(dir, name));
      const stale = this.listLocked().filter((r) => !keep.has(attachmentKey(r)));
      for (const rec of stale) this.releaseLocked(rec);
      // Pointers a crash left behind point at nothing of theirs: at no record (killed between pointer
      // and record), or at a record another attachment took since (the address was free for it).
      for (const name of readdirSync(this.attachmentsDir)) {
        if (!keep.has(name) && !stale.some((r) => attachmentKey(r) === name)) {
          const rec = this.readRecord(readFileSync(join(this.attachmentsDir, name), "utf8").trim());
          if (!rec || attachmentKey(rec) !== name) unlinkSync(join(this.attachmentsDir, name));
        }
      }
      return stale;
    });
  }
}
