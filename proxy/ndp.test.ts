import { describe, expect, it } from "vitest";
import { encodeUnsolicitedNa } from "./ndp.js";

describe("unsolicited Neighbour Advertisement (RFC 4861 §4.4)", () => {
  it("encodes type 136, Override alone, the target, and the Target Link-Layer Address option, byte for byte", () => {
    const na = encodeUnsolicitedNa("fd00:56::200", "02:00:5e:10:00:0b");
    expect(na.toString("hex")).toBe(
      [
        "88", // type 136: Neighbour Advertisement
        "00", // code
        "0000", // checksum: the kernel's
        "20000000", // R=0 S=0 O=1, reserved
        "fd000056000000000000000000000200", // target address
        "02", // option: Target Link-Layer Address
        "01", // length: 8 bytes
        "02005e10000b", // the MAC
      ].join(""),
    );
  });

  it("refuses a target that is not IPv6 and a MAC that is not Ethernet's, naming them", () => {
    expect(() => encodeUnsolicitedNa("192.168.56.200", "02:00:5e:10:00:0b")).toThrow('"192.168.56.200" is not an IPv6 address');
    expect(() => encodeUnsolicitedNa("fd00::1", "02:00:5e:10:00")).toThrow('"02:00:5e:10:00" is not an Ethernet MAC address');
  });
});
