// The cluster's network configuration, `<prefix>/config` in etcd, in flannel's JSON field names.
// Validation names the field and the bad value; defaults follow flannel's.
import { IPv4 } from "ip-num";
import { intToIpv4, ipv4ToInt, parseIpv4Cidr } from "./ipv4.js";
import { NetworkConfigError } from "./config-error.js";
import { backendConfigJson, parseBackendConfig, type BackendConfig } from "./backend-config.js";
import { bigIntToIpv6, formatIpv6Cidr, ipv6ToBigInt, parseIpv6Cidr } from "./ipv6.js";

/** One family's part of the pod network: the whole range and the subnets nodes may lease from it. */
export interface SubnetRange {
  network: string;
  subnetLen: number;
  /** First and last subnet that may be leased, as their network addresses. */
  subnetMin: string;
  subnetMax: string;
}

/**
 * The IPv4 fields (Network, SubnetLen, SubnetMin, SubnetMax) sit at the top level, as in flannel's
 * JSON: NetworkConfig extends the IPv4 range. `enableIPv4` false (IPv6-only) leaves them empty.
 */
export interface NetworkConfig extends SubnetRange {
  enableIPv4: boolean;
  /** EnableIPv6 with IPv6Network, IPv6SubnetLen, IPv6SubnetMin, IPv6SubnetMax. */
  ipv6?: SubnetRange;
  backend: BackendConfig;
}

export { NetworkConfigError, NetworkConfigMissingError } from "./config-error.js";

const fail = (field: string, value: unknown, why: string): never => {
  throw new NetworkConfigError(`${field}=${JSON.stringify(value)} ${why}`);
};

function int(obj: Record<string, unknown>, field: string, path: string, dflt: number, min: number, max: number): number {
  const v = obj[field] ?? dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) return fail(path, v, `must be an integer from ${min} to ${max}`);
  return v;
}

function bool(obj: Record<string, unknown>, field: string, dflt: boolean): boolean {
  const v = obj[field] ?? dflt;
  if (typeof v !== "boolean") return fail(field, v, "must be true or false");
  return v;
}

export const ipOf = (n: bigint): string => new IPv4(n).toString();

/** The two families' arithmetic, so one function checks a range of either. */
interface Family {
  bits: number;
  /** The widest subnet length weft leases (room for a gateway and pods). */
  maxSubnetLen: number;
  name: string;
  example: string;
  parse(text: string): bigint;
  format(n: bigint): string;
}

const IPV4: Family = { bits: 32, maxSubnetLen: 30, name: "IPv4", example: "10.244.0.0/16", parse: (t) => new IPv4(t).value, format: ipOf };
const IPV6: Family = { bits: 128, maxSubnetLen: 126, name: "IPv6", example: "fd00:10:244::/56", parse: ipv6ToBigInt, format: bigIntToIpv6 };

/** Network, SubnetLen, SubnetMin, SubnetMax of one family (`prefix` "" or "IPv6"), with flannel's defaults. */
function parseRange(cfg: Record<string, unknown>, family: Family, prefix: "" | "IPv6", netField: string): SubnetRange {
  const field = (name: string): string => `${prefix}${name}`;
  const text = cfg[netField];
  if (typeof text !== "string") return fail(netField, text, `must be an ${family.name} CIDR such as ${family.example}`);
  const slash = text.lastIndexOf("/");
  const netLen = Number(text.slice(slash + 1));
  let addr: bigint;
  try {
    if (slash < 0 || !/^\d{1,3}$/.test(text.slice(slash + 1)) || netLen > family.bits) throw new Error("length");
    addr = family.parse(text.slice(0, slash));
  } catch {
    return fail(netField, text, `is not an ${family.name} CIDR`);
  }
  const size = 1n << BigInt(family.bits - netLen);
  const first = addr - (addr % size);
  const last = first + size - 1n;
  if (first !== addr) return fail(netField, text, `has host bits set (did you mean ${family.format(first)}/${netLen}?)`);
  const defaultLen = family.bits === 32 ? (netLen <= 22 ? 24 : netLen + 2) : netLen <= 62 ? 64 : netLen + 2;
  const subnetLen = int(cfg, field("SubnetLen"), field("SubnetLen"), defaultLen, netLen + 1, family.maxSubnetLen);
  const step = 1n << BigInt(family.bits - subnetLen);
  const ipField = (name: string): bigint | undefined => {
    const v = cfg[field(name)];
    if (v === undefined) return undefined;
    if (typeof v !== "string") return fail(field(name), v, "must be a string");
    try {
      return family.parse(v);
    } catch {
      return fail(field(name), v, `is not an ${family.name} address`);
    }
  };
  const subnetMin = ipField("SubnetMin") ?? first + step;
  const subnetMax = ipField("SubnetMax") ?? last - step + 1n;
  for (const [name, v] of [["SubnetMin", subnetMin], ["SubnetMax", subnetMax]] as const) {
    if (v < first || v > last) fail(field(name), family.format(v), `is outside ${netField} ${text}`);
    if ((v - first) % step !== 0n) fail(field(name), family.format(v), `is not the start of a /${subnetLen} subnet`);
  }
  if (subnetMin > subnetMax) fail(field("SubnetMin"), family.format(subnetMin), `is after ${field("SubnetMax")} ${family.format(subnetMax)}`);
  return { network: `${family.format(first)}/${netLen}`, subnetLen, subnetMin: family.format(subnetMin), subnetMax: family.format(subnetMax) };
}

const NO_IPV4: SubnetRange = { network: "", subnetLen: 0, subnetMin: "", subnetMax: "" };

export function parseNetworkConfig(input: unknown): NetworkConfig {
  if (typeof input === "string") {
    try {
      input = JSON.parse(input);
    } catch (err) {
      throw new NetworkConfigError(`not JSON: ${(err as Error).message}`);
    }
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) throw new NetworkConfigError("must be a JSON object");
  const cfg = input as Record<string, unknown>;
  const enableIPv4 = bool(cfg, "EnableIPv4", true);
  const enableIPv6 = bool(cfg, "EnableIPv6", false);
  if (!enableIPv4 && !enableIPv6) throw new NetworkConfigError("EnableIPv4=false and EnableIPv6=false: the pod network needs at least one family");
  const ipv4 = enableIPv4 ? parseRange(cfg, IPV4, "", "Network") : NO_IPV4;
  const ipv6 = enableIPv6 ? parseRange(cfg, IPV6, "IPv6", "IPv6Network") : undefined;
  const backend = parseBackendConfig(cfg.Backend);
  return {
    ...ipv4,
    enableIPv4,
    ...(ipv6 ? { ipv6 } : {}),
    backend,
  };
}

export function toFlannelConfigJson(cfg: NetworkConfig): object {
  const v4 = cfg.enableIPv4 ? { Network: cfg.network, SubnetLen: cfg.subnetLen, SubnetMin: cfg.subnetMin, SubnetMax: cfg.subnetMax } : { EnableIPv4: false };
  const v6 = cfg.ipv6 ? { EnableIPv6: true, IPv6Network: cfg.ipv6.network, IPv6SubnetLen: cfg.ipv6.subnetLen, IPv6SubnetMin: cfg.ipv6.subnetMin, IPv6SubnetMax: cfg.ipv6.subnetMax } : {};
  return { ...v4, ...v6, Backend: backendConfigJson(cfg.backend) };
}

const isV6 = (range: SubnetRange): boolean => range.network.includes(":");

/** The network's range of a family, if it has that family. */
export const rangeOf = (cfg: NetworkConfig, family: 4 | 6): SubnetRange | undefined => (family === 4 ? (cfg.enableIPv4 ? cfg : undefined) : cfg.ipv6);

/** The network's families, IPv4 first: a node's lease has a part of each. */
export const networkFamilies = (cfg: NetworkConfig): (4 | 6)[] => [...(cfg.enableIPv4 ? [4 as const] : []), ...(cfg.ipv6 ? [6 as const] : [])];

/** How many subnets of the range may be leased (of either family). */
export function leasableCount(range: SubnetRange): number {
  if (isV6(range)) {
    const step = 1n << BigInt(128 - range.subnetLen);
    return Number((ipv6ToBigInt(range.subnetMax) - ipv6ToBigInt(range.subnetMin)) / step + 1n);
  }
  const step = 2 ** (32 - range.subnetLen);
  return (ipv4ToInt(range.subnetMax) - ipv4ToInt(range.subnetMin)) / step + 1;
}

/** The i-th leasable subnet (0-based), as a CIDR string. */
export function leasableSubnetAt(range: SubnetRange, i: number): string {
  if (isV6(range)) return formatIpv6Cidr(ipv6ToBigInt(range.subnetMin) + BigInt(i) * (1n << BigInt(128 - range.subnetLen)), range.subnetLen);
  return `${intToIpv4(ipv4ToInt(range.subnetMin) + i * 2 ** (32 - range.subnetLen))}/${range.subnetLen}`;
}

/** Every leasable subnet, in order, as CIDR strings. */
export function leasableSubnets(range: SubnetRange): string[] {
  return Array.from({ length: leasableCount(range) }, (_, i) => leasableSubnetAt(range, i));
}

/**
 * Whether `subnet` is one of the range's leasable subnets (right length, inside, aligned). Called
 * per lease on weftd's event path, so plain integer arithmetic for IPv4: through ip-num this cost
 * ~60 µs per call, which at 1,000 nodes made every lease event pay ~60 ms.
 */
export function subnetInNetwork(range: SubnetRange, subnet: string): boolean {
  try {
    if (isV6(range) !== subnet.includes(":")) return false;
    if (isV6(range)) {
      const s = parseIpv6Cidr(subnet);
      const net = parseIpv6Cidr(range.network);
      return s.prefixLen === range.subnetLen && s.ip === s.network && s.network >= net.network && s.last <= net.last && bigIntToIpv6(s.network) === subnet.split("/")[0];
    }
    const s = parseIpv4Cidr(subnet);
    const net = parseIpv4Cidr(range.network);
    return s.prefixLen === range.subnetLen && s.ip === s.network && s.network >= net.network && s.broadcast <= net.broadcast;
  } catch {
    return false;
  }
}
