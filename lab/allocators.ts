// Service address and port allocation with the API server's rules and messages: cluster IPs from the
// service CIDR (random, as the API server does), NodePorts from 30000–32767, LoadBalancer addresses
// from the lab's pool (in order, as MetalLB does).
export const NODE_PORT_RANGE = [30000, 32767] as const;

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
  const size = last - first - 1;
  for (let tries = 0; tries < 64; tries++) {
    const ip = intToIp(first + 1 + Math.floor(random() * size));
    if (!used.has(ip) && !ip.endsWith(".0") && ip !== intToIp(first + 1) && ip !== intToIp(first + 10)) return ip;
  }
  for (let n = first + 11; n < last; n++) if (!used.has(intToIp(n))) return intToIp(n);
  throw new AllocationError(`${field}: Internal error: failed to allocate a serviceIP: range is full`);
}

export function allocateNodePort(used: Set<number>, requested: number | undefined, field: string, random = Math.random): number {
  const [lo, hi] = NODE_PORT_RANGE;
  if (requested !== undefined) {
    if (requested < lo || requested > hi) throw new AllocationError(`${field}: Invalid value: ${requested}: provided port is not in the valid range. The range of valid ports is ${lo}-${hi}`);
    if (used.has(requested)) throw new AllocationError(`${field}: Invalid value: ${requested}: provided port is already allocated`);
    return requested;
  }
  for (let tries = 0; tries < 64; tries++) {
    const p = lo + Math.floor(random() * (hi - lo + 1));
    if (!used.has(p)) return p;
  }
  for (let p = lo; p <= hi; p++) if (!used.has(p)) return p;
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
