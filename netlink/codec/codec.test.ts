// The codec on bytes: requests against hand-written layouts, replies captured from the kernel.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildAddr } from "./address.js";
import { decodeIp, encodeIp, encodeMac, parseCidr } from "./addresses.js";
import { AttributeParseError, ByteWriter, parseAttributes } from "./attributes.js";
import { NLM_F, NLMSG, RTM } from "./constants.js";
import { buildNewLink, buildSetHairpin, parseLink } from "./link.js";
import { beginMessage, finishMessage, MessageParseError, parseErrorReply, parseMessages } from "./message.js";
import { buildNeigh } from "./neighbour.js";
import { buildRoute, parseRoute } from "./route.js";

const fixture = (name: string): Buffer => Buffer.from(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8").trim(), "hex");
const hex = (b: Buffer): string => b.toString("hex");

describe("attributes", () => {
  it("pads payloads to 4 bytes and nests with NLA_F_NESTED and the patched length", () => {
    const w = new ByteWriter();
    w.attrString(3, "br0"); // len 8 (4 + "br0\0")
    w.nest(18, () => w.attrString(1, "veth")); // 4 + (4 + 5 → 12) = 16
    expect(hex(w.toBuffer())).toBe("08000300" + "62723000" + "10001280" + "09000100" + "7665746800000000");
    const attrs = parseAttributes(w.toBuffer());
    expect(attrs.get(3)?.toString()).toBe("br0\0");
    expect(parseAttributes(attrs.get(18) as Buffer).get(1)?.toString()).toBe("veth\0");
  });

  it("refuses an attribute whose length runs past the buffer", () => {
    expect(() => parseAttributes(Buffer.from("0c000300aabbccdd", "hex"))).toThrow(AttributeParseError);
    expect(() => parseAttributes(Buffer.from("02000300", "hex"))).toThrow(AttributeParseError);
  });
});

describe("addresses", () => {
  it("round-trips IPv4, IPv6 and MACs", () => {
    expect(hex(encodeIp("10.244.1.5"))).toBe("0af40105");
    expect(decodeIp(encodeIp("fd00::1"))).toBe("fd00::1");
    expect(decodeIp(encodeIp("2001:db8:0:0:1:0:0:1"))).toBe("2001:db8::1:0:0:1");
    expect(decodeIp(encodeIp("::ffff:1.2.3.4"))).toBe("::ffff:102:304");
    expect(hex(encodeMac("0a:58:0A:f4:01:00"))).toBe("0a580af40100");
    expect(() => encodeIp("10.244.1.256")).toThrow(/invalid IPv4/);
    expect(() => encodeMac("0a:58")).toThrow(/invalid MAC/);
    expect(() => parseCidr("10.0.0.0/33")).toThrow(/invalid CIDR/);
  });
});

describe("framing", () => {
  it("writes nlmsghdr with length, type, flags and sequence", () => {
    const w = beginMessage(RTM.GETLINK, NLM_F.REQUEST | NLM_F.DUMP, 7);
    w.zeros(16);
    const msg = finishMessage(w);
    expect(hex(msg.subarray(0, 16))).toBe("20000000" + "1200" + "0103" + "07000000" + "00000000");
    expect(parseMessages(msg)).toEqual([expect.objectContaining({ type: RTM.GETLINK, seq: 7, flags: 0x301 })]);
  });

  it("decodes an error reply with the kernel's extended-ACK text", () => {
    const w = beginMessage(NLMSG.ERROR, NLM_F.CAPPED | NLM_F.ACK_TLVS, 9);
    w.i32(-17);
    w.bytes(Buffer.alloc(16)); // the capped original header
    w.attrString(1, "File exists");
    const [msg] = parseMessages(finishMessage(w));
    expect(parseErrorReply(msg!)).toEqual({ errno: 17, kernelMessage: "File exists" });
  });

  it("refuses a truncated message", () => {
    expect(() => parseMessages(Buffer.from("ff00000012000000", "hex"))).toThrow(/trailing bytes/);
    expect(() => parseMessages(Buffer.from("40000000120001000100000000000000", "hex"))).toThrow(MessageParseError);
  });
});

describe("requests", () => {
  it("builds a veth whose peer carries its own ifinfomsg, name and namespace fd", () => {
    const req = buildNewLink({ name: "v0", kind: "veth", peer: { name: "eth0", netnsFd: 9 } });
    expect(req.type).toBe(RTM.NEWLINK);
    expect(req.flags).toBe(NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL);
    const attrs = parseAttributes(req.body, 16);
    const info = parseAttributes(attrs.get(18) as Buffer);
    expect(info.get(1)?.toString()).toBe("veth\0");
    const peer = parseAttributes(info.get(2) as Buffer).get(1) as Buffer;
    const peerAttrs = parseAttributes(peer, 16);
    expect(peerAttrs.get(3)?.toString()).toBe("eth0\0");
    expect(peerAttrs.get(28)?.readUInt32LE(0)).toBe(9);
  });

  it("puts the VXLAN port in network byte order", () => {
    const req = buildNewLink({ name: "weft.1", kind: "vxlan", vxlan: { vni: 1, local: "192.168.56.11", port: 8472, learning: false } });
    const data = parseAttributes(parseAttributes(parseAttributes(req.body, 16).get(18) as Buffer).get(2) as Buffer);
    expect(hex(data.get(15) as Buffer)).toBe("2118"); // 8472 = 0x2118
    expect(hex(data.get(4) as Buffer)).toBe("c0a8380b");
    expect(data.get(7)?.readUInt8(0)).toBe(0);
  });

  it("sets hairpin through AF_BRIDGE and IFLA_PROTINFO", () => {
    const req = buildSetHairpin(5, true);
    expect(hex(req.body)).toBe("07000000" + "05000000" + "00000000" + "00000000" + "0c000c80" + "05000400" + "01000000");
  });

  it("builds an address with its broadcast, and a replace with the REPLACE flag", () => {
    const req = buildAddr("new", 3, "10.244.1.1/24");
    expect(hex(req.body.subarray(0, 8))).toBe("02180000" + "03000000");
    expect(hex(parseAttributes(req.body, 8).get(4) as Buffer)).toBe("0af401ff");
    expect(buildAddr("replace", 3, "10.244.1.1/24").flags & NLM_F.REPLACE).toBeTruthy();
  });

  it("builds an onlink route and a permanent FDB entry", () => {
    const route = buildRoute("replace", { dst: "10.244.2.0/24", gateway: "10.244.2.0", oif: 4, onlink: true });
    expect(hex(route.body.subarray(0, 12))).toBe("02180000" + "fe030001" + "04000000");
    const fdb = buildNeigh("replace", { family: "bridge", ifindex: 4, lladdr: "aa:bb:cc:dd:ee:ff", dst: "192.168.56.12", flags: 0x02 });
    expect(hex(fdb.body.subarray(0, 12))).toBe("07000000" + "04000000" + "8000" + "02" + "00");
  });
});

describe("replies captured from the kernel", () => {
  it("decodes a vxlan link (ip link add vx9 type vxlan id 42 local 192.168.9.1 dstport 8472 nolearning)", () => {
    const link = parseLink(fixture("vxlan-link.hex"));
    expect(link).toMatchObject({ name: "vx9", kind: "vxlan", up: true, vxlan: { vni: 42, local: "192.168.9.1", port: 8472, learning: false } });
    expect(link.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  });

  it("decodes an onlink route (10.244.7.0/24 via 10.244.7.0 dev vx9 onlink)", () => {
    expect(parseRoute(fixture("onlink-route.hex"))).toMatchObject({ dst: "10.244.7.0/24", gateway: "10.244.7.0", onlink: true, table: 254, family: 4 });
  });
});
