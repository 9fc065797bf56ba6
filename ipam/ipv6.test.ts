import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bigIntToIpv6, canonicalIpv6, ipv6ToBigInt, parseIpv6Cidr } from "./ipv6.js";

describe("IPv6 text and numbers", () => {
  it.each([
    ["fd00:0:0:0:0:0:0:1", "fd00::1"],
    ["FD00:10:244:0000::", "fd00:10:244::"],
    ["::", "::"],
    ["::1", "::1"],
    ["1:0:0:2:0:0:0:3", "1:0:0:2::3"], // the longest run of zeros
    ["1:0:0:2:0:0:3:4", "1::2:0:0:3:4"], // the first of two equal runs
    ["1:2:3:4:5:6:0:8", "1:2:3:4:5:6:0:8"], // one zero group is not shortened
    ["2001:db8::", "2001:db8::"],
  ])("writes %s as %s (RFC 5952)", (text, canonical) => {
    expect(canonicalIpv6(text)).toBe(canonical);
  });

  it("round-trips every 128-bit number", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (n) => {
        expect(ipv6ToBigInt(bigIntToIpv6(n))).toBe(n);
      }),
    );
  });

  it("refuses what is not an IPv6 address or CIDR", () => {
    for (const bad of ["1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "::ffff:1.2.3.4", "g::", ""]) expect(() => ipv6ToBigInt(bad)).toThrow(/invalid IPv6 address/);
    for (const bad of ["fd00::", "fd00::/129", "fd00::/x", "10.0.0.0/8"]) expect(() => parseIpv6Cidr(bad)).toThrow(/invalid IPv6 CIDR/);
    expect(parseIpv6Cidr("fd00::5/64")).toMatchObject({ prefixLen: 64, network: ipv6ToBigInt("fd00::"), last: ipv6ToBigInt("fd00::ffff:ffff:ffff:ffff") });
  });
});
