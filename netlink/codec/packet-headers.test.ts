// Packet headers from hand-written IPv4 and IPv6 packets as an NFLOG payload carries them.
import { describe, expect, it } from "vitest";
import { parsePacketHeaders } from "./packet-headers.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const V4_SRC = "0af40203"; // 10.244.2.3
const V4_DST = "0af40103"; // 10.244.1.3
const V6_SRC = "fd000010024400020000000000000003"; // fd00:10:244:2::3
const V6_DST = "fd000010024400010000000000000003"; // fd00:10:244:1::3

describe("parsePacketHeaders", () => {
  it("IPv4 TCP: addresses and ports", () => {
    expect(parsePacketHeaders(hex(`45000034 00004000 4006 0000 ${V4_SRC} ${V4_DST} c350 1f90 00000000`))).toEqual({ family: 4, src: "10.244.2.3", dst: "10.244.1.3", protocol: "TCP", srcPort: 50000, dstPort: 8080 });
  });

  it("IPv4 UDP with options (IHL 6) and SCTP: the ports after the options", () => {
    expect(parsePacketHeaders(hex(`46000034 00000000 4011 0000 ${V4_SRC} ${V4_DST} 01020304 d431 0035 0008 0000`))).toMatchObject({ protocol: "UDP", srcPort: 54321, dstPort: 53 });
    expect(parsePacketHeaders(hex(`45000034 00000000 4084 0000 ${V4_SRC} ${V4_DST} 1388 0bb8 00000000`))).toMatchObject({ protocol: "SCTP", srcPort: 5000, dstPort: 3000 });
  });

  it("IPv4: ICMP and a later fragment carry no ports; a capture cut inside the ports neither", () => {
    expect(parsePacketHeaders(hex(`45000054 00004000 4001 0000 ${V4_SRC} ${V4_DST} 0800 f7ff 0000 0000`))).toEqual({ family: 4, src: "10.244.2.3", dst: "10.244.1.3", protocol: "ICMP" });
    const later = parsePacketHeaders(hex(`45000034 00000010 4006 0000 ${V4_SRC} ${V4_DST} c350 1f90`));
    expect(later).toMatchObject({ protocol: "TCP" });
    expect(later?.dstPort).toBeUndefined();
    expect(parsePacketHeaders(hex(`45000034 00004000 4006 0000 ${V4_SRC} ${V4_DST} c350`))?.dstPort).toBeUndefined();
  });

  it("IPv6 UDP and TCP", () => {
    expect(parsePacketHeaders(hex(`60000000 0008 11 40 ${V6_SRC} ${V6_DST} 3039 0035 0008 0000`))).toEqual({ family: 6, src: "fd00:10:244:2::3", dst: "fd00:10:244:1::3", protocol: "UDP", srcPort: 12345, dstPort: 53 });
    expect(parsePacketHeaders(hex(`60000000 0014 06 40 ${V6_SRC} ${V6_DST} c350 1f90 00000000`))).toMatchObject({ protocol: "TCP", srcPort: 50000, dstPort: 8080 });
  });

  it("IPv6: walks hop-by-hop and a first fragment to TCP; a later fragment has no ports", () => {
    const hopByHop = "2c00 0000 0000 0000"; // next: fragment (44), 8 bytes
    expect(parsePacketHeaders(hex(`60000000 0020 00 40 ${V6_SRC} ${V6_DST} ${hopByHop} 06 00 0001 12345678 c350 1f90`))).toMatchObject({ protocol: "TCP", srcPort: 50000, dstPort: 8080 });
    const later = parsePacketHeaders(hex(`60000000 0020 00 40 ${V6_SRC} ${V6_DST} ${hopByHop} 06 00 0100 12345678 c350 1f90`));
    expect(later).toMatchObject({ protocol: "TCP" });
    expect(later?.dstPort).toBeUndefined();
    expect(parsePacketHeaders(hex(`60000000 0008 3a 40 ${V6_SRC} ${V6_DST} 8000 0000`))).toMatchObject({ protocol: "ICMPv6" });
  });

  it("no IP packet: empty, too short, another version", () => {
    expect(parsePacketHeaders(Buffer.alloc(0))).toBeUndefined();
    expect(parsePacketHeaders(hex("4500"))).toBeUndefined();
    expect(parsePacketHeaders(hex(`60000000 0008 11 40 ${V6_SRC}`))).toBeUndefined();
    expect(parsePacketHeaders(hex(`55000034 00004000 4006 0000 ${V4_SRC} ${V4_DST}`))).toBeUndefined();
  });
});
