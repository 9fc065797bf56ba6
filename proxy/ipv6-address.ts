// IPv6 addresses for the proxy, cluster DNS and the LoadBalancer speaker: an address as a number (the
// proxy orders endpoints by it at every sync, so it is parsed here, not by ip-num at ~35 µs a call),
// its 16 bytes, and its one canonical text (RFC 5952), since a DNS name made from an address must be
// the one a client makes.
import { isIPv6 } from "node:net";
import { collapseIPv6Number, IPv6 } from "ip-num";

export class InvalidIpv6AddressError extends Error {
  constructor(readonly address: string) {
    super(`"${address}" is not an IPv6 address: write it as RFC 4291 text (e.g. fd00:10:244:1::5)`);
  }
}

/** The 128-bit value of an IPv6 address (an embedded IPv4 tail, "::ffff:10.0.0.1", as its last two groups). */
export function ipv6Value(ip: string): bigint {
  if (!isIPv6(ip) || ip.includes("%")) throw new InvalidIpv6AddressError(ip);
  const groups = (s: string): bigint[] =>
    (s ? s.split(":") : []).flatMap((g) => {
      if (!g.includes(".")) return [BigInt(Number.parseInt(g, 16))];
      const v4 = g.split(".").reduce((n, o) => n * 256 + Number(o), 0);
      return [BigInt(v4 >>> 16), BigInt(v4 & 0xffff)];
    });
  const [head = "", tail] = ip.split("::");
  const [h, t] = [groups(head), groups(tail ?? "")];
  // "::" stands for as many zero groups as make eight.
  const all = tail === undefined ? h : [...h, ...Array<bigint>(8 - h.length - t.length).fill(0n), ...t];
  return all.reduce((n, g) => (n << 16n) | g, 0n);
}

/** The address as 32 hex digits, most significant first. */
export const ipv6Hex = (ip: string): string => ipv6Value(ip).toString(16).padStart(32, "0");

export const ipv6Bytes = (ip: string): Buffer => Buffer.from(ipv6Hex(ip), "hex");

/** RFC 5952's one spelling of 16 bytes (lower case, no leading zeros, the longest run of zero groups as "::"). */
export const ipv6FromBytes = (bytes: Uint8Array): string => collapseIPv6Number(IPv6.fromBigInt(BigInt(`0x${Buffer.from(bytes.subarray(0, 16)).toString("hex")}`)).toString());

/** The address in RFC 5952's one spelling. */
export const canonicalIpv6 = (ip: string): string => ipv6FromBytes(ipv6Bytes(ip));
