import { describe, expect, it } from "vitest";
import { crc32c, decodeSctp, encodeSctp, sctpOfRawRead } from "./sctp-packet.js";

describe("SCTP packets for the raw-socket exchange", () => {
  it("computes CRC32c as RFC 9260 asks (check value of \"123456789\")", () => {
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
  });

  it("round-trips an INIT ACK with its State Cookie and refuses a corrupted packet", () => {
    const ack = encodeSctp({ srcPort: 8085, dstPort: 40000, vtag: 0xdeadbeef, chunkType: 2, initiateTag: 7, cookie: Buffer.from("weft-lab pod-a") });
    expect(ack.length % 4).toBe(0);
    expect(decodeSctp(ack)).toEqual({ srcPort: 8085, dstPort: 40000, vtag: 0xdeadbeef, chunkType: 2, initiateTag: 7, cookie: Buffer.from("weft-lab pod-a") });
    const bad = Buffer.from(ack);
    bad[20] = (bad[20] as number) ^ 1;
    expect(decodeSctp(bad)).toBeUndefined();
    expect(decodeSctp(ack.subarray(0, 20))).toBeUndefined();
  });

  it("encodes an INIT with a zero verification tag and no parameters", () => {
    const init = encodeSctp({ srcPort: 1, dstPort: 2, vtag: 0, chunkType: 1, initiateTag: 99 });
    expect(init.length).toBe(32);
    expect(decodeSctp(init)).toMatchObject({ chunkType: 1, vtag: 0, initiateTag: 99 });
  });
});

describe("the SCTP packet in what a raw socket reads", () => {
  const init = encodeSctp({ srcPort: 40000, dstPort: 8085, vtag: 0, chunkType: 1, initiateTag: 5 });
  const ipv4Header = (ihl: number): Buffer => Buffer.concat([Buffer.from([0x40 | ihl]), Buffer.alloc(ihl * 4 - 1)]);

  it("skips an IPv4 header by its IHL, options included", () => {
    expect(sctpOfRawRead(4, Buffer.concat([ipv4Header(5), init]))).toEqual(init);
    expect(decodeSctp(sctpOfRawRead(4, Buffer.concat([ipv4Header(7), init])))).toMatchObject({ srcPort: 40000, dstPort: 8085, initiateTag: 5 });
    expect(sctpOfRawRead(4, Buffer.alloc(12)).length).toBe(0);
  });

  it("takes an IPv6 raw read as it is: the kernel gives no IPv6 header", () => {
    expect(sctpOfRawRead(6, init)).toBe(init);
  });
});
