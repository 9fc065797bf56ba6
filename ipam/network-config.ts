// The cluster's network configuration, `<prefix>/config` in etcd, in flannel's JSON field names.
// Validation names the field and the bad value; defaults follow flannel's.
import { IPv4, IPv4CidrRange } from "ip-num";
import { intToIpv4, ipv4ToInt, parseIpv4Cidr } from "./ipv4.js";

export interface NetworkConfig {
  network: string;
  subnetLen: number;
  /** First and last subnet that may be leased, as their network addresses. */
  subnetMin: string;
  subnetMax: string;
  backend: { type: "vxlan"; vni: number; port: number; directRouting: boolean };
}

export class NetworkConfigError extends Error {
  constructor(message: string) {
    super(`network config: ${message}`);
    this.name = "NetworkConfigError";
  }
}

export class NetworkConfigMissingError extends NetworkConfigError {}

const fail = (field: string, value: unknown, why: string): never => {
  throw new NetworkConfigError(`${field}=${JSON.stringify(value)} ${why}`);
};

function parseIp(field: string, value: unknown): bigint {
  if (typeof value !== "string") return fail(field, value, "must be a string");
  try {
    return new IPv4(value).value;
  } catch {
    return fail(field, value, "is not an IPv4 address");
  }
}

function int(obj: Record<string, unknown>, field: string, path: string, dflt: number, min: number, max: number): number {
  const v = obj[field] ?? dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) return fail(path, v, `must be an integer from ${min} to ${max}`);
  return v;
}

export const ipOf = (n: bigint): string => new IPv4(n).toString();

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
  if (cfg.EnableIPv6 === true) throw new NetworkConfigError("EnableIPv6=true is not supported yet: weft is IPv4-only");
  if (typeof cfg.Network !== "string") return fail("Network", cfg.Network, "must be an IPv4 CIDR such as 10.244.0.0/16");
  let net: IPv4CidrRange;
  try {
    net = IPv4CidrRange.fromCidr(cfg.Network);
  } catch {
    return fail("Network", cfg.Network, "is not an IPv4 CIDR");
  }
  const netLen = Number(net.cidrPrefix.value);
  if (net.getFirst().toString() !== cfg.Network.split("/")[0]) return fail("Network", cfg.Network, `has host bits set (did you mean ${net.getFirst()}/${netLen}?)`);
  const defaultLen = netLen <= 22 ? 24 : netLen + 2;
  const subnetLen = int(cfg, "SubnetLen", "SubnetLen", defaultLen, netLen + 1, 30);
  const step = 1n << BigInt(32 - subnetLen);
  const first = net.getFirst().value;
  const last = net.getLast().value;
  const subnetMin = cfg.SubnetMin === undefined ? first + step : parseIp("SubnetMin", cfg.SubnetMin);
  const subnetMax = cfg.SubnetMax === undefined ? last - step + 1n : parseIp("SubnetMax", cfg.SubnetMax);
  for (const [field, v] of [["SubnetMin", subnetMin], ["SubnetMax", subnetMax]] as const) {
    if (v < first || v > last) fail(field, ipOf(v), `is outside Network ${cfg.Network}`);
    if ((v - first) % step !== 0n) fail(field, ipOf(v), `is not the start of a /${subnetLen} subnet`);
  }
  if (subnetMin > subnetMax) fail("SubnetMin", ipOf(subnetMin), `is after SubnetMax ${ipOf(subnetMax)}`);
  const backend = (cfg.Backend ?? { Type: "vxlan" }) as Record<string, unknown>;
  if (typeof backend !== "object" || backend === null) return fail("Backend", cfg.Backend, "must be an object");
  if ((backend.Type ?? "vxlan") !== "vxlan") return fail("Backend.Type", backend.Type, `is not supported (weft implements "vxlan")`);
  const directRouting = backend.DirectRouting ?? false;
  if (typeof directRouting !== "boolean") return fail("Backend.DirectRouting", directRouting, "must be true or false");
  return {
    network: cfg.Network,
    subnetLen,
    subnetMin: ipOf(subnetMin),
    subnetMax: ipOf(subnetMax),
    backend: { type: "vxlan", vni: int(backend, "VNI", "Backend.VNI", 1, 1, 16_777_215), port: int(backend, "Port", "Backend.Port", 8472, 1, 65535), directRouting },
  };
}

export function toFlannelConfigJson(cfg: NetworkConfig): object {
  return {
    Network: cfg.network,
    SubnetLen: cfg.subnetLen,
    SubnetMin: cfg.subnetMin,
    SubnetMax: cfg.subnetMax,
    Backend: { Type: cfg.backend.type, VNI: cfg.backend.vni, Port: cfg.backend.port, DirectRouting: cfg.backend.directRouting },
  };
}

/** How many subnets may be leased. */
export function leasableCount(cfg: NetworkConfig): number {
  const step = 2 ** (32 - cfg.subnetLen);
  return (ipv4ToInt(cfg.subnetMax) - ipv4ToInt(cfg.subnetMin)) / step + 1;
}

/** The i-th leasable subnet (0-based), as a CIDR string. */
export function leasableSubnetAt(cfg: NetworkConfig, i: number): string {
  return `${intToIpv4(ipv4ToInt(cfg.subnetMin) + i * 2 ** (32 - cfg.subnetLen))}/${cfg.subnetLen}`;
}

/** Every leasable subnet, in order, as CIDR strings. */
export function leasableSubnets(cfg: NetworkConfig): string[] {
  return Array.from({ length: leasableCount(cfg) }, (_, i) => leasableSubnetAt(cfg, i));
}

/**
 * Whether `subnet` is one of the network's leasable subnets (right length, inside, aligned). Called
 * per lease on weftd's event path, so plain integer arithmetic: through ip-num this cost ~60 µs per
 * call, which at 1,000 nodes made every lease event pay ~60 ms.
 */
export function subnetInNetwork(cfg: NetworkConfig, subnet: string): boolean {
  try {
    const s = parseIpv4Cidr(subnet);
    const net = parseIpv4Cidr(cfg.network);
    return s.prefixLen === cfg.subnetLen && s.ip === s.network && s.network >= net.network && s.broadcast <= net.broadcast;
  } catch {
    return false;
  }
}
