import { describe, expect, it } from "vitest";
import { canonicalIpv6, InvalidIpv6AddressError, ipv6Bytes, ipv6Hex } from "./ipv6-address.js";

describe("IPv6 address text", () => {
  it("gives the 16 bytes of an address written in any RFC 4291 form", () => {
    expect(ipv6Hex("fd00:10:244:1::5")).toBe("fd000010024400010000000000000005");
    expect(ipv6Hex("::")).toBe("0".repeat(32));
    expect(ipv6Bytes("FD00:0:0:0:0:0:0:A")).toEqual(Buffer.from("fd00000000000000000000000000000a", "hex"));
  });

  it("writes the RFC 5952 text: lower case, no leading zeros, the longest (then first) zero run compressed, never a single zero group", () => {
    expect(canonicalIpv6("FD00:0010:0244:0001:0000:0000:0000:0005")).toBe("fd00:10:244:1::5");
    expect(canonicalIpv6("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(canonicalIpv6("2001:0:0:1:0:0:0:1")).toBe("2001:0:0:1::1");
    expect(canonicalIpv6("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
    expect(canonicalIpv6("0:0:0:0:0:0:0:0")).toBe("::");
    expect(canonicalIpv6("0:0:0:0:0:0:0:1")).toBe("::1");
    expect(canonicalIpv6("fd00:0:0:0:0:0:0:0")).toBe("fd00::");
    expect(canonicalIpv6("2001:db8:0:0:1:0:0:0")).toBe("2001:db8:0:0:1::"); // the longer run, not the first
    expect(canonicalIpv6("::")).toBe("::");
  });

  it("names the address it cannot read", () => {
    expect(() => ipv6Hex("10.96.0.10")).toThrow(InvalidIpv6AddressError);
    expect(() => ipv6Hex("fd00::1::2")).toThrow('"fd00::1::2" is not an IPv6 address');
  });
});
