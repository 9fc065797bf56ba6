// Generic netlink framing and the controller's family lookup, on bytes written from linux/genetlink.h.
import { describe, expect, it } from "vitest";
import { NLM_F } from "./constants.js";
import { buildGetFamily, GENL_ID_CTRL, genlRequest, parseFamily, parseGenlPayload } from "./genetlink.js";
import { MessageParseError } from "./message.js";

const bytes = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ""), "hex");

describe("generic netlink header", () => {
  it("puts cmd, version and a zero reserved u16 before the attributes", () => {
    const req = genlRequest(0x1a, 7, 3, NLM_F.REQUEST, (w) => w.attrU32(1, 5));
    expect(req.type).toBe(0x1a);
    expect(req.body.toString("hex")).toBe("07030000" + "08000100" + "05000000");
    expect(parseGenlPayload(req.body)).toEqual({ cmd: 7, version: 3, attrs: bytes("0800010005000000") });
  });

  it("refuses a payload shorter than genlmsghdr", () => {
    expect(() => parseGenlPayload(bytes("0701"))).toThrow(MessageParseError);
  });
});

describe("CTRL_CMD_GETFAMILY", () => {
  it("asks the controller for a family by its NUL-terminated name", () => {
    const req = buildGetFamily("wireguard");
    expect(req.type).toBe(GENL_ID_CTRL);
    expect(req.flags).toBe(NLM_F.REQUEST);
    // cmd 3, version 1; CTRL_ATTR_FAMILY_NAME (2), len 4 + 10, padded to 16
    expect(req.body.toString("hex")).toBe("03010000" + "0e000200" + "776972656775617264" + "00" + "0000");
  });

  // The reply for "nlctrl" as the kernel lays it out: name, id, version, hdrsize, maxattr, groups.
  const nlctrlReply = bytes(`
    01020000
    0b000200 6e6c6374726c00 00
    06000100 1000 0000
    08000300 02000000
    08000400 00000000
    08000500 0a000000
    1c000780
      18000180
        0b000100 6e6f7469667900 00
        08000200 10000000
  `);

  it("reads the family id, version and multicast groups of CTRL_CMD_NEWFAMILY", () => {
    expect(parseFamily(nlctrlReply)).toEqual({
      name: "nlctrl",
      id: 0x10,
      version: 2,
      hdrSize: 0,
      maxAttr: 10,
      multicastGroups: [{ name: "notify", id: 0x10 }],
    });
  });

  it("refuses a reply of another command or without a family id", () => {
    const otherCmd = Buffer.from(nlctrlReply);
    otherCmd[0] = 3;
    expect(() => parseFamily(otherCmd)).toThrow(/CTRL_CMD_NEWFAMILY/);
    expect(() => parseFamily(bytes("01020000 0b000200 6e6c6374726c00 00"))).toThrow(/family id/);
  });
});
