// subnet.env: what weftd tells the CNI plugin about this node (flannel's format, so tools that read
// flannel's file read ours). FLANNEL_SUBNET is the node's gateway address with the subnet's length;
// FLANNEL_IPV6_SUBNET likewise for IPv6. As flannel writes it, a family the network lacks has no lines:
// an IPv6-only node's file has no FLANNEL_NETWORK or FLANNEL_SUBNET.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { Ipv4FormatError, ipv4ToInt, parseIpv4Cidr } from "./ipv4.js";
import { ipv6ToBigInt, parseIpv6Cidr } from "./ipv6.js";

/** One family's lines: the whole pod network ("10.244.0.0/16") and this node's gateway/len ("10.244.1.1/24"). */
export interface FamilyEnv {
  network: string;
  subnet: string;
}

export interface SubnetEnv {
  /** FLANNEL_NETWORK and FLANNEL_SUBNET; absent on an IPv6-only node. */
  ipv4?: FamilyEnv;
  /** FLANNEL_IPV6_NETWORK and FLANNEL_IPV6_SUBNET (e.g. fd00:10:244:1::1/64); present where the network has IPv6. */
  ipv6?: FamilyEnv;
  mtu: number;
  ipMasq: boolean;
  /** weft's own addition (WEFT_PUBLIC_IP): the node's public IP (of the network's first family) when
   * weftd wrote the file, so that a node whose IP changed can prove the lease it finds under its old
   * subnet is its own. */
  publicIp?: string;
  /** weft's own addition (WEFT_ANTI_SPOOFING): whether weftd keeps the anti-spoofing filter on this
   * node, so the plugin skips the filter's set where there is none instead of paying for a failed
   * nf_tables transaction. Absent (flanneld's file, or an older weftd's): no weft filter, since weftd
   * writes the key before it makes the table. */
  antiSpoofing?: boolean;
  /** weft's own addition (WEFT_POLICY_NEW_POD_HOLD_MS): weftd enforces network policy on this node, and
   * a new pod's addresses are held (dropped both ways) for at most this long until weftd has judged
   * them. Absent: no policy table, nothing to hold. */
  policyNewPodHoldMs?: number;
}

/**
 * An IPv4 or IPv6 address, by our own parsers: the plugin reads this file at every ADD and DEL, and
 * node:net's isIP would load the net module and Node's streams with it (~3 ms of every pod's start).
 */
function isIpAddress(text: string): boolean {
  try {
    if (text.includes(":")) ipv6ToBigInt(text);
    else ipv4ToInt(text);
    return true;
  } catch {
    return false;
  }
}

export class SubnetEnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class SubnetEnvMissingError extends SubnetEnvError {}

export function parseSubnetEnv(text: string, source = "subnet.env"): SubnetEnv {
  const vars = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new SubnetEnvError(`${source}: line "${line}" is not KEY=VALUE`);
    vars.set(line.slice(0, eq), line.slice(eq + 1).replace(/^"(.*)"$/, "$1"));
  }
  const need = (key: string): string => {
    const v = vars.get(key);
    if (v === undefined || v === "") throw new SubnetEnvError(`${source}: ${key} is missing`);
    return v;
  };
  const ipv4 = ipv4Part(vars, source);
  const ipv6 = ipv6Part(vars, source);
  if (!ipv4 && !ipv6) throw new SubnetEnvError(`${source}: FLANNEL_NETWORK and FLANNEL_SUBNET (or, on an IPv6-only node, FLANNEL_IPV6_NETWORK and FLANNEL_IPV6_SUBNET) are missing`);
  const mtuText = need("FLANNEL_MTU");
  const mtu = Number(mtuText);
  if (!/^\d+$/.test(mtuText) || mtu < 576 || mtu > 65535) throw new SubnetEnvError(`${source}: FLANNEL_MTU="${mtuText}" is not an MTU between 576 and 65535`);
  const masq = vars.get("FLANNEL_IPMASQ") ?? "false";
  if (masq !== "true" && masq !== "false") throw new SubnetEnvError(`${source}: FLANNEL_IPMASQ="${masq}" must be true or false`);
  const publicIp = vars.get("WEFT_PUBLIC_IP");
  if (publicIp !== undefined && !isIpAddress(publicIp)) throw new SubnetEnvError(`${source}: WEFT_PUBLIC_IP="${publicIp}" is not an IP address`);
  const filter = vars.get("WEFT_ANTI_SPOOFING");
  if (filter !== undefined && filter !== "true" && filter !== "false") throw new SubnetEnvError(`${source}: WEFT_ANTI_SPOOFING="${filter}" must be true or false`);
  const hold = vars.get("WEFT_POLICY_NEW_POD_HOLD_MS");
  if (hold !== undefined && !/^\d{1,6}$/.test(hold)) throw new SubnetEnvError(`${source}: WEFT_POLICY_NEW_POD_HOLD_MS="${hold}" is not a number of milliseconds`);
  return {
    ...(ipv4 ? { ipv4 } : {}),
    ...(ipv6 ? { ipv6 } : {}),
    mtu,
    ipMasq: masq === "true",
    ...(publicIp !== undefined ? { publicIp } : {}),
    ...(filter !== undefined ? { antiSpoofing: filter === "true" } : {}),
    ...(hold !== undefined ? { policyNewPodHoldMs: Number(hold) } : {}),
  };
}

/** FLANNEL_NETWORK and FLANNEL_SUBNET: both or neither, the subnet inside the network. */
function ipv4Part(vars: Map<string, string>, source: string): FamilyEnv | undefined {
  const network = vars.get("FLANNEL_NETWORK");
  const subnet = vars.get("FLANNEL_SUBNET");
  if (!network && !subnet) return undefined;
  if (!network || !subnet) throw new SubnetEnvError(`${source}: ${network ? "FLANNEL_SUBNET" : "FLANNEL_NETWORK"} is missing (FLANNEL_NETWORK and FLANNEL_SUBNET go together)`);
  const parse = (key: string, v: string) => {
    try {
      return parseIpv4Cidr(v);
    } catch (err) {
      if (err instanceof Ipv4FormatError) throw new SubnetEnvError(`${source}: ${key}="${v}" is not an IPv4 CIDR`);
      throw err;
    }
  };
  const net = parse("FLANNEL_NETWORK", network);
  const sub = parse("FLANNEL_SUBNET", subnet);
  if (sub.network < net.network || sub.broadcast > net.broadcast) throw new SubnetEnvError(`${source}: FLANNEL_SUBNET ${subnet} is outside FLANNEL_NETWORK ${network}`);
  return { network, subnet };
}

/** FLANNEL_IPV6_NETWORK and FLANNEL_IPV6_SUBNET: both or neither, the subnet inside the network. */
function ipv6Part(vars: Map<string, string>, source: string): FamilyEnv | undefined {
  const network = vars.get("FLANNEL_IPV6_NETWORK");
  const subnet = vars.get("FLANNEL_IPV6_SUBNET");
  if (network === undefined && subnet === undefined) return undefined;
  if (!network || !subnet) throw new SubnetEnvError(`${source}: FLANNEL_IPV6_NETWORK and FLANNEL_IPV6_SUBNET go together (found only ${network ? "FLANNEL_IPV6_NETWORK" : "FLANNEL_IPV6_SUBNET"})`);
  const parse = (key: string, v: string) => {
    try {
      return parseIpv6Cidr(v);
    } catch {
      throw new SubnetEnvError(`${source}: ${key}="${v}" is not an IPv6 CIDR`);
    }
  };
  const net = parse("FLANNEL_IPV6_NETWORK", network);
  const sub = parse("FLANNEL_IPV6_SUBNET", subnet);
  if (sub.network < net.network || sub.last > net.last) throw new SubnetEnvError(`${source}: FLANNEL_IPV6_SUBNET ${subnet} is outside FLANNEL_IPV6_NETWORK ${network}`);
  return { network, subnet };
}

export function readSubnetEnv(path: string): SubnetEnv {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new SubnetEnvMissingError(`${path} does not exist: weftd has not written it yet; is weftd running on this node?`);
    throw new SubnetEnvError(`cannot read ${path}: ${code ?? String(err)}`);
  }
  return parseSubnetEnv(text, path);
}

export function formatSubnetEnv(env: SubnetEnv): string {
  const weft = [
    env.publicIp ? `WEFT_PUBLIC_IP=${env.publicIp}\n` : "",
    env.antiSpoofing !== undefined ? `WEFT_ANTI_SPOOFING=${env.antiSpoofing}\n` : "",
    env.policyNewPodHoldMs !== undefined ? `WEFT_POLICY_NEW_POD_HOLD_MS=${env.policyNewPodHoldMs}\n` : "",
  ].join("");
  const v4 = env.ipv4 ? `FLANNEL_NETWORK=${env.ipv4.network}\nFLANNEL_SUBNET=${env.ipv4.subnet}\n` : "";
  const v6 = env.ipv6 ? `FLANNEL_IPV6_NETWORK=${env.ipv6.network}\nFLANNEL_IPV6_SUBNET=${env.ipv6.subnet}\n` : "";
  return `${v4}${v6}FLANNEL_MTU=${env.mtu}\nFLANNEL_IPMASQ=${env.ipMasq}\n${weft}`;
}

/** Writes the file atomically (temp file, fsync, rename), mode 0644: readers never see half a file. */
export function writeSubnetEnv(path: string, env: SubnetEnv): void {
  parseSubnetEnv(formatSubnetEnv(env), path); // refuse to write what we could not read back
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w", 0o644);
  try {
    writeSync(fd, formatSubnetEnv(env));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
