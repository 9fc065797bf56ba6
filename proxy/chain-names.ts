// Chain names as kube-proxy derives them: a hash of the service port (and endpoint), so they are
// stable across restarts and one service's chains can be rewritten without touching the others.
import { createHash } from "node:crypto";
import { hostPort } from "./family-syntax.js";
import type { ServicePortEntry } from "./service-ports.js";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 (Go's base32.StdEncoding) of the first bytes needed for `chars` characters. */
function base32(bytes: Buffer, chars: number): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
    if (out.length >= chars) break;
  }
  return out;
}

// Every sync names every chain again: remember the hashes (bounded, so churn cannot grow it forever).
const memo = new Map<string, string>();
function hash(s: string, chars: number): string {
  const key = `${chars}|${s}`;
  let h = memo.get(key);
  if (h === undefined) {
    if (memo.size > 500_000) memo.clear();
    h = base32(createHash("sha256").update(s).digest(), chars);
    memo.set(key, h);
  }
  return h;
}
const proto = (p: ServicePortEntry): string => p.protocol.toLowerCase();

export const svcChain = (p: ServicePortEntry): string => `KUBE-SVC-${hash(p.name + proto(p), 16)}`;
export const svlChain = (p: ServicePortEntry): string => `KUBE-SVL-${hash(p.name + proto(p), 16)}`;
export const extChain = (p: ServicePortEntry): string => `KUBE-EXT-${hash(p.name + proto(p), 16)}`;
/** The endpoint's hash covers "ip:port", or "[ip]:port" for IPv6, as kube-proxy's endpoint string. */
export const sepChain = (p: ServicePortEntry, ip: string, port: number): string => `KUBE-SEP-${hash(p.name + proto(p) + hostPort(ip, port), 16)}`;

/** nftables mode: "<hash8>-<ns>/<svc>/<proto>/<port name>", as kube-proxy's nftables proxier names chains. */
export function nftServiceBase(p: ServicePortEntry): string {
  return `${hash(p.name + proto(p), 8)}-${p.namespace}/${p.service}/${proto(p)}/${p.portName}`;
}
/** nft's chain names take no ":", so an IPv6 endpoint is written with dots: "…__fd00.10.244.1..2/8080". */
export const nftEndpointChain = (p: ServicePortEntry, ip: string, port: number): string =>
  `endpoint-${hash(p.name + proto(p) + hostPort(ip, port), 8)}-${p.namespace}/${p.service}/${proto(p)}/${p.portName}__${ip.replaceAll(":", ".")}/${port}`;
