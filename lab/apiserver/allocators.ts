// Service address and port allocation with the API server's rules and messages: cluster IPs from the
// service CIDR and NodePorts from 30000–32767 (random, above a static band, as the API server does),
// LoadBalancer addresses from the lab's pool (in order, as MetalLB does).
import { cidrBounds, familyOfAddress } from "./ip-family.js";

export const NODE_PORT_RANGE = [30000, 32767] as const;
/**
 * KEP-3668: the bottom of the range, min(max(16, size/32), 128) ports (30000–30085 here), is left to
 * manifests that name a port; automatic allocation takes it only when the rest is full.
 */
const NODE_PORT_DYNAMIC_FROM = NODE_PORT_RANGE[0] + Math.min(Math.max(16, Math.floor((NODE_PORT_RANGE[1] - NODE_PORT_RANGE[0] + 1) / 32)), 128);

export class AllocationError extends Error {}

/** Checks a requested cluster IP, or picks a free one, in `cidr` of either family; `field` names it in the error. */
export function allocateClusterIp(cidr: string, used: Set<string>, requested: string | undefined, field = "spec.clusterIP", random = Math.random): string {
  const { family, first, last } = cidrBounds(cidr);
  if (requested) {
    const given = familyOfAddress(requested);
    if (!given.valid(requested)) throw new AllocationError(`${field}: Invalid value: "${requested}": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`);
    const n = given === family ? family.toNumber(requested) : -1n;
    if (n <= first || n >= last) throw new AllocationError(`${field}: Invalid value: "${requested}": provided IP is not in the valid range. The range of valid IPs is ${cidr}`);
    if (used.has(family.toText(n))) throw new AllocationError(`${field}: Invalid value: "${requested}": provided IP is already allocated`);
    return family.toText(n);
  }
  // KEP-3070: dynamic allocation prefers the range above a static band kept for requested addresses
  // (min(max(16, size/16), 256) addresses at the bottom), so a manifest's fixed IP rarely collides.
  const size = last - first - 1n;
  const band = BigInt(Math.min(Math.max(16, Number(size / 16n)), 256));
  const upper = first + 1n + band;
  const free = (n: bigint): boolean => !used.has(family.toText(n)) && n % 256n !== 0n;
  for (let tries = 0; tries < 64 && upper < last; tries++) {
    const n = upper + BigInt(Math.floor(random() * Number(last - upper)));
    if (free(n)) return family.toText(n);
  }
  for (let n = upper; n < last; n++) if (free(n)) return family.toText(n);
  for (let n = first + 11n; n < upper; n++) if (free(n)) return family.toText(n);
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

/** The first free address of a pool (first–last, one family), or `requested` if it is in the pool and free. */
export function allocateLoadBalancerIp(pool: [string, string], used: Set<string>, requested: string | undefined): string | undefined {
  const family = familyOfAddress(pool[0]);
  const [lo, hi] = [family.toNumber(pool[0]), family.toNumber(pool[1])];
  if (requested) {
    const n = family.valid(requested) ? family.toNumber(requested) : -1n;
    if (n < lo || n > hi) throw new AllocationError(`spec.loadBalancerIP: Invalid value: "${requested}": not in the lab's address pool ${pool[0]}-${pool[1]}`);
    if (used.has(family.toText(n))) throw new AllocationError(`spec.loadBalancerIP: Invalid value: "${requested}": already assigned to another service`);
    return family.toText(n);
  }
  for (let n = lo; n <= hi; n++) if (!used.has(family.toText(n))) return family.toText(n);
  return undefined; // pending, as a real cluster shows it when the pool is exhausted
}
