import { describe, expect, it } from "vitest";
import { AddressError, canonicalIp, decodeMessageLengths, decodeSockaddr, encodeMessageHeader, encodePktinfo, encodeSockaddr, findPktinfo, ipv6Bytes, ipv6Text, MESSAGE } from "./sockaddr.js";

const hex = (b: Buffer): string => b.toString("hex");

describe("sockaddr_in and sockaddr_in6", () => {
  it("lays out sockaddr_in6 as Linux does: family in host order, port big-endian, flowinfo, address, scope id", () => {
    const sa = encodeSockaddr({ ip: "fd00:5c::2", port: 8085, scopeId: 3 });
    expect(hex(sa)).toBe("0a00" + "1f95" + "00000000" + "fd00005c000000000000000000000002" + "03000000");
    expect(decodeSockaddr(sa)).toEqual({ ip: "fd00:5c::2", port: 8085, scopeId: 3 });
  });

  it("lays out sockaddr_in in 16 bytes and reads it back", () => {
    const sa = encodeSockaddr({ ip: "10.244.1.5", port: 0 });
    expect(hex(sa)).toBe("0200" + "0000" + "0af40105" + "0000000000000000");
    expect(decodeSockaddr(sa)).toEqual({ ip: "10.244.1.5", port: 0 });
  });

  it("reads nothing from another family or from too few bytes", () => {
    expect(decodeSockaddr(Buffer.from("0100" + "00".repeat(26), "hex"))).toBeUndefined();
    expect(decodeSockaddr(encodeSockaddr({ ip: "fd00::1", port: 1 }).subarray(0, 16))).toBeUndefined();
    expect(decodeSockaddr(Buffer.alloc(8))).toBeUndefined();
  });
});

describe("IPv6 addresses as bytes and text", () => {
  it("expands \"::\" and an IPv4 tail", () => {
    expect(hex(ipv6Bytes("::"))).toBe("00".repeat(16));
    expect(hex(ipv6Bytes("1::"))).toBe("0001" + "00".repeat(14));
    expect(hex(ipv6Bytes("::ffff:192.0.2.1"))).toBe("00".repeat(10) + "ffff" + "c0000201");
    expect(hex(ipv6Bytes("2001:DB8:0:0:1:0:0:1"))).toBe("20010db8000000000001000000000001");
  });

  it("reads an address back from its bytes in RFC 5952's spelling (proxy/ipv6-address.ts writes it)", () => {
    expect(ipv6Text(ipv6Bytes("2001:0db8:0:0:0:0:2:1"))).toBe("2001:db8::2:1");
  });

  it("gives each address one spelling, and refuses what is no address literal", () => {
    expect(canonicalIp("FD00:0:0::0:1")).toBe("fd00::1");
    expect(canonicalIp("10.96.0.10")).toBe("10.96.0.10");
    expect(() => ipv6Bytes("fe80::1%eth0")).toThrow(AddressError);
    expect(() => ipv6Bytes("fd00::g")).toThrow(/"fd00::g" is not an IPv6 address/);
    expect(() => canonicalIp("10.96.0.300")).toThrow(AddressError);
  });
});

describe("packet-info control messages", () => {
  it("encodes in6_pktinfo to send from an address: cmsg_len 36, IPPROTO_IPV6, IPV6_PKTINFO, padded to 40", () => {
    const cmsg = encodePktinfo("fd00:5c::10");
    expect(hex(cmsg)).toBe("2400000000000000" + "29000000" + "32000000" + "fd00005c000000000000000000000010" + "00000000" + "00000000");
  });

  it("encodes in_pktinfo with the source in ipi_spec_dst: cmsg_len 28, IPPROTO_IP, IP_PKTINFO", () => {
    expect(hex(encodePktinfo("10.96.0.10"))).toBe("1c00000000000000" + "00000000" + "08000000" + "00000000" + "0a60000a" + "00000000" + "00000000");
  });

  it("finds the address a packet came to past other control messages, for either family", () => {
    const other = Buffer.from("2000000000000000" + "01000000" + "1d000000" + "11".repeat(16), "hex"); // SOL_SOCKET, 16 bytes
    expect(findPktinfo(Buffer.concat([other, encodePktinfo("fd00:5c::10")]))).toBe("fd00:5c::10");
    const inPktinfo = Buffer.from("1c00000000000000" + "00000000" + "08000000" + "03000000" + "0a000001" + "0a60000a" + "00000000", "hex");
    expect(findPktinfo(inPktinfo)).toBe("10.96.0.10"); // ipi_addr (the header's destination), not ipi_spec_dst
  });

  it("finds nothing in an empty, truncated or foreign control buffer", () => {
    expect(findPktinfo(Buffer.alloc(0))).toBeUndefined();
    expect(findPktinfo(encodePktinfo("fd00::1").subarray(0, 30))).toBeUndefined();
    expect(findPktinfo(Buffer.from("1000000000000000" + "01000000" + "1d000000", "hex"))).toBeUndefined();
  });
});

describe("msghdr with one iovec, pointing into its own block", () => {
  it("points msg_name, msg_iov, msg_control and iov_base at the block's parts", () => {
    const h = encodeMessageHeader(0x7f0000001000n, 28, 40, 1024);
    expect(h.length).toBe(MESSAGE.name);
    expect(h.readBigUInt64LE(0)).toBe(0x7f0000001000n + BigInt(MESSAGE.name));
    expect(h.readUInt32LE(8)).toBe(28);
    expect(h.readBigUInt64LE(16)).toBe(0x7f0000001000n + BigInt(MESSAGE.iovec));
    expect(h.readBigUInt64LE(24)).toBe(1n);
    expect(h.readBigUInt64LE(32)).toBe(0x7f0000001000n + BigInt(MESSAGE.control));
    expect(h.readBigUInt64LE(40)).toBe(40n);
    expect(h.readInt32LE(48)).toBe(0); // msg_flags
    expect(h.readBigUInt64LE(MESSAGE.iovec)).toBe(0x7f0000001000n + BigInt(MESSAGE.data));
    expect(h.readBigUInt64LE(MESSAGE.iovec + 8)).toBe(1024n);
  });

  it("reads back the lengths recvmsg writes: msg_namelen and msg_controllen", () => {
    expect(decodeMessageLengths(encodeMessageHeader(0x1000n, 28, 40, 64))).toEqual({ nameLen: 28, controlLen: 40 });
  });

  it("gives no control pointer when there is no control message", () => {
    expect(encodeMessageHeader(0x1000n, 16, 0, 32).readBigUInt64LE(32)).toBe(0n);
  });

  it("keeps the parts apart: each fits before the next", () => {
    expect(MESSAGE.iovec).toBeGreaterThanOrEqual(56);
    expect(MESSAGE.name).toBe(MESSAGE.iovec + 16);
    expect(MESSAGE.control).toBeGreaterThanOrEqual(MESSAGE.name + MESSAGE.nameSpace);
    expect(MESSAGE.data).toBeGreaterThanOrEqual(MESSAGE.control + MESSAGE.controlSpace);
    expect(MESSAGE.nameSpace).toBeGreaterThanOrEqual(28);
  });
});
