// subnet.env: what weftd tells the CNI plugin about this node (flannel's format, so tools that read
// flannel's file read ours). FLANNEL_SUBNET is the node's gateway address with the subnet's length;
// FLANNEL_IPV6_SUBNET likewise for a dual-stack node.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { Ipv4FormatError, parseIpv4Cidr } from "./ipv4.js";
import { parseIpv6Cidr } from "./ipv6.js";

export interface SubnetEnv {
  /** The whole pod network, e.g. "10.244.0.0/16". */
  network: string;
  /** This node's gateway/len, e.g. "10.244.1.1/24". */
  subnet: string;
  /** FLANNEL_IPV6_NETWORK and FLANNEL_IPV6_SUBNET (gateway/len, e.g. fd00:10:244:1::1/64) of a dual-stack node. */
  ipv6?: { network: string; subnet: string };
  mtu: number;
  ipMasq: boolean;
  /** weft's own addition (WEFT_PUBLIC_IP): the node's public IP when weftd wrote the file, so that a
   * node whose IP changed can prove the lease it finds under its old subnet is its own. */
  publicIp?: string;
  /** weft's own addition (WEFT_ANTI_SPOOFING): whether weftd keeps the anti-spoofing filter on this
   * node, so the plugin skips the filter's set where there is none instead of paying for a failed
   * nf_tables transaction. Absent (a file an older weftd wrote): the plugin tries the set. */
  antiSpoofing?: boolean;
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
  const cidr = (key: string): string => {
    const v = need(key);
    try {
      parseIpv4Cidr(v);
    } catch (err) {
      if (err instanceof Ipv4FormatError) throw new SubnetEnvError(`${source}: ${key}="${v}" is not an IPv4 CIDR`);
      throw err;
    }
    return v;
  };
  const network = cidr("FLANNEL_NETWORK");
  const subnet = cidr("FLANNEL_SUBNET");
  const ipv6 = ipv6Part(vars, source);
  const mtuText = need("FLANNEL_MTU");
  const mtu = Number(mtuText);
  if (!/^\d+$/.test(mtuText) || mtu < 576 || mtu > 65535) throw new SubnetEnvError(`${source}: FLANNEL_MTU="${mtuText}" is not an MTU between 576 and 65535`);
  const masq = vars.get("FLANNEL_IPMASQ") ?? "false";
  if (masq !== "true" && masq !== "false") throw new SubnetEnvError(`${source}: FLANNEL_IPMASQ="${masq}" must be true or false`);
  const net = parseIpv4Cidr(network);
  const sub = parseIpv4Cidr(subnet);
  if (sub.network < net.network || sub.broadcast > net.broadcast) throw new SubnetEnvError(`${source}: FLANNEL_SUBNET ${subnet} is outside FLANNEL_NETWORK ${network}`);
  const publicIp = vars.get("WEFT_PUBLIC_IP");
  if (publicIp !== undefined) {
    try {
      parseIpv4Cidr(`${publicIp}/32`);
    } catch {
      throw new SubnetEnvError(`${source}: WEFT_PUBLIC_IP="${publicIp}" is not an IPv4 address`);
    }
  }
  const filter = vars.get("WEFT_ANTI_SPOOFING");
  if (filter !== undefined && filter !== "true" && filter !== "false") throw new SubnetEnvError(`${source}: WEFT_ANTI_SPOOFING="${filter}" must be true or false`);
  return { network, subnet, ...(ipv6 ? { ipv6 } : {}), mtu, ipMasq: masq === "true", ...(publicIp !== undefined ? { publicIp } : {}), ...(filter !== undefined ? { antiSpoofing: filter === "true" } : {}) };
}

/** FLANNEL_IPV6_NETWORK and FLANNEL_IPV6_SUBNET: both or neither, the subnet inside the network. */
function ipv6Part(vars: Map<string, string>, source: string): SubnetEnv["ipv6"] {
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
  const weft = [env.publicIp ? `WEFT_PUBLIC_IP=${env.publicIp}\n` : "", env.antiSpoofing !== undefined ? `WEFT_ANTI_SPOOFING=${env.antiSpoofing}\n` : ""].join("");
  const v6 = env.ipv6 ? `FLANNEL_IPV6_NETWORK=${env.ipv6.network}\nFLANNEL_IPV6_SUBNET=${env.ipv6.subnet}\n` : "";
  return `FLANNEL_NETWORK=${env.network}\nFLANNEL_SUBNET=${env.subnet}\n${v6}FLANNEL_MTU=${env.mtu}\nFLANNEL_IPMASQ=${env.ipMasq}\n${weft}`;
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
