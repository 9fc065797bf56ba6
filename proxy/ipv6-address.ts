// IPv6 address text for cluster DNS and the LoadBalancer speaker: the 16 bytes of an address, and its
// one canonical text (RFC 5952), since a DNS name made from an address must be the one a client makes.
import { collapseIPv6Number, IPv6 } from "ip-num";

export class InvalidIpv6AddressError extends Error {
  constructor(readonly address: string) {
    super(`"${address}" is not an IPv6 address: write it as RFC 4291 text (e.g. fd00:10:244:1::5)`);
  }
}

/** The address as 32 hex digits, most significant first. */
export function ipv6Hex(ip: string): string {
  let value: bigint;
  try {
    value = IPv6.fromString(ip).getValue();
  } catch {
    throw new InvalidIpv6AddressError(ip);
  }
  return value.toString(16).padStart(32, "0");
}

export const ipv6Bytes = (ip: string): Buffer => Buffer.from(ipv6Hex(ip), "hex");

/** RFC 5952's one spelling of 16 bytes (lower case, no leading zeros, the longest run of zero groups as "::"). */
export const ipv6FromBytes = (bytes: Uint8Array): string => collapseIPv6Number(IPv6.fromBigInt(BigInt(`0x${Buffer.from(bytes.subarray(0, 16)).toString("hex")}`)).toString());

/** The address in RFC 5952's one spelling. */
export const canonicalIpv6 = (ip: string): string => ipv6FromBytes(ipv6Bytes(ip));
