// Service address and port allocation with the API server's rules and messages: cluster IPs from the
// service CIDR and NodePorts from 30000–32767 (random, above a static band, as the API server does),
// LoadBalancer addresses from the lab's pool (in order, as MetalLB does).
export const NODE_PORT_RANGE = [30000, 32767] as const;
/**
 * KEP-3668: the bottom of the range, min(max(16, size/32), 128) ports (30000–30085 here), is left to
 * manifests that name a port; automatic allocation takes it only when the rest is full.
 */
const NODE_PORT_DYNAMIC_FROM = NODE_PORT_RANGE[0] + Math.min(Math.max(16, Math.floor((NODE_PORT_RANGE[1] - NODE_PORT_RANGE[0] + 1) / 32)), 128);

export const ipToInt = (ip: string): number => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0) >>> 0;
export const intToIp = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export class AllocationError extends Error {}

export function cidrRange(cidr: string): [number, number] {
  const [addr, len] = cidr.split("/");
  const bits = Number(len);
  const base = ipToInt(addr ?? "") & (bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0);
  return [base >>> 0, (base + 2 ** (32 - bits) - 1) >>> 0];
}

/** Checks a requested cluster IP, or picks a free one; `field` names it in the error. */
export function allocateClusterIp(cidr: string, used: Set<string>, requested: string | undefined, field = "spec.clusterIP", random = Math.random): string {
  const [first, last] = cidrRange(cidr);
  if (requested) {
    const n = ipToInt(requested);
    if (!IPV4.test(requested)) throw new AllocationError(`${field}: Invalid value: "${requested}": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`);
    if (n <= first || n >= last) throw new AllocationError(`${field}: Invalid value: "${requested}": provided IP is not in the valid range. The range of valid IPs is ${cidr}`);
    if (used.has(requested)) throw new AllocationError(`${field}: Invalid value: "${requested}": provided IP is already allocated`);
    return requested;
  }
  // KEP-3070: dynamic allocation prefers the range above a static band kept for requested addresses
  // (min(max(16, size/16), 256) addresses at the bottom), so a manifest's fixed IP rarely collides.
  const size = last - first - 1;
  const band = Math.min(Math.max(16, Math.floor(size / 16)), 256);
  const upper = first + 1 + band;
  const free = (n: number): boolean => !used.has(intToIp(n)) && (n & 255) !== 0;
  for (let tries = 0; tries < 64 && upper < last; tries++) {
    const n = upper + Math.floor(random() * (last - upper));
    if (free(n)) return intToIp(n);
  }
  for (let n = upper; n < last; n++) if (free(n)) return intToIp(n);
  for (let n = first + 11; n < upper; n++) if (free(n)) return intToIp(n);
  throw new AllocationError(`${field}: Internal error: failed to allocate a serviceIP: range is full`);
}

export function allocateNodePort(used: Set<number>, requested: number | undefined, field: string, random = Math.random): number {
  const [lo, hi] = NODE_PORT_RANGE;
  if (requested !== undefined) {
    if (requested < lo || requested > hi) throw new AllocationError(`${field}: Invalid value: ${requested}: provided port is not in the valid range. The range of valid ports is ${lo}-${hi}`);
    if (used.has(requested)) throw new AllocationError(`${field}: Invalid value: ${requested}: provided port is already allocated`);
    return requested;
  }
  const upper = NODE_PORT_DYNAMIC_FROM;
  for (let tries = 0; tries < 64; tries++) {
    const p = upper + Math.floor(random() * (hi - upper + 1));
    if (!used.has(p)) return p;
  }
  for (let p = upper; p <= hi; p++) if (!used.has(p)) return p;
  for (let p = lo; p < upper; p++) if (!used.has(p)) return p;
  throw new AllocationError(`${field}: Internal error: failed to allocate a nodePort: range is full`);
}

export function allocateLoadBalancerIp(pool: [string, string], used: Set<string>, requested: string | undefined): string | undefined {
  const [lo, hi] = [ipToInt(pool[0]), ipToInt(pool[1])];
  if (requested) {
    const n = ipToInt(requested);
    if (n < lo || n > hi) throw new AllocationError(`spec.loadBalancerIP: Invalid value: "${requested}": not in the lab's address pool ${pool[0]}-${pool[1]}`);
    if (used.has(requested)) throw new AllocationError(`spec.loadBalancerIP: Invalid value: "${requested}": already assigned to another service`);
    return requested;
  }
  for (let n = lo; n <= hi; n++) if (!used.has(intToIp(n))) return intToIp(n);
  return undefined; // pending, as a real cluster shows it when the pool is exhausted
}
