// Generic netlink (linux/genetlink.h): every message carries genlmsghdr {cmd u8, version u8,
// reserved u16} after nlmsghdr, and families get their message type from the controller
// ("nlctrl", type GENL_ID_CTRL) by name: CTRL_CMD_GETFAMILY answers with the id, version and
// multicast groups of the family, or ENOENT when no module registered it.
import { attrString, attrU16, attrU32, ByteWriter, parseAttributeList, parseAttributes } from "./attributes.js";
import { NLM_F } from "./constants.js";
import { MessageParseError, requireLength } from "./message.js";
import type { Request } from "./request.js";
import { readU8 } from "./bytes.js";

export const NETLINK_GENERIC = 16;
export const GENL_HDRLEN = 4;
/** The controller's own message type (NLMSG_MIN_TYPE). */
export const GENL_ID_CTRL = 0x10;
export const CTRL_VERSION = 2;
export const CTRL_CMD = { NEWFAMILY: 1, GETFAMILY: 3 } as const;
export const CTRL_ATTR = { FAMILY_ID: 1, FAMILY_NAME: 2, VERSION: 3, HDRSIZE: 4, MAXATTR: 5, OPS: 6, MCAST_GROUPS: 7 } as const;
export const CTRL_ATTR_MCAST_GRP = { NAME: 1, ID: 2 } as const;

/** A generic netlink message's payload split at its header: the command and the attributes after it. */
export interface GenlPayload {
  cmd: number;
  version: number;
  /** The attributes after genlmsghdr (and after a family's fixed header, which none of ours has). */
  attrs: Buffer;
}

export interface GenlMulticastGroup {
  name: string;
  id: number;
}

export interface GenlFamily {
  name: string;
  /** The nlmsg type that addresses this family; assigned when its module registers, so looked up each run. */
  id: number;
  version: number;
  /** Size of the family's fixed header after genlmsghdr (0 for most). */
  hdrSize: number;
  maxAttr: number;
  multicastGroups: GenlMulticastGroup[];
}

/** A request to family `familyId`: genlmsghdr, then the attributes `writeAttrs` adds. */
export function genlRequest(familyId: number, cmd: number, version: number, flags: number, writeAttrs: (w: ByteWriter) => void): Request {
  const w = new ByteWriter();
  w.u8(cmd);
  w.u8(version);
  w.u16(0);
  writeAttrs(w);
  return { type: familyId, flags, body: Buffer.from(w.toBuffer()) };
}

export function parseGenlPayload(payload: Buffer): GenlPayload {
  requireLength(payload, GENL_HDRLEN, "genlmsghdr");
  return { cmd: readU8(payload, 0), version: readU8(payload, 1), attrs: payload.subarray(GENL_HDRLEN) };
}

/** CTRL_CMD_GETFAMILY for one family by name (a "do" request: one NEWFAMILY reply, then the ACK). */
export function buildGetFamily(name: string): Request {
  return genlRequest(GENL_ID_CTRL, CTRL_CMD.GETFAMILY, 1, NLM_F.REQUEST, (w) => w.attrString(CTRL_ATTR.FAMILY_NAME, name));
}

/** The controller's CTRL_CMD_NEWFAMILY reply. */
export function parseFamily(payload: Buffer): GenlFamily {
  const { cmd, attrs } = parseGenlPayload(payload);
  if (cmd !== CTRL_CMD.NEWFAMILY) throw new MessageParseError(`controller reply has command ${cmd}, not CTRL_CMD_NEWFAMILY`);
  const a = parseAttributes(attrs);
  const id = attrU16(a.get(CTRL_ATTR.FAMILY_ID));
  const name = attrString(a.get(CTRL_ATTR.FAMILY_NAME));
  if (id === undefined || name === undefined) throw new MessageParseError("controller reply without family id or name");
  const groups = a.get(CTRL_ATTR.MCAST_GROUPS);
  return {
    name,
    id,
    version: attrU32(a.get(CTRL_ATTR.VERSION)) ?? 0,
    hdrSize: attrU32(a.get(CTRL_ATTR.HDRSIZE)) ?? 0,
    maxAttr: attrU32(a.get(CTRL_ATTR.MAXATTR)) ?? 0,
    multicastGroups: groups ? parseMulticastGroups(groups) : [],
  };
}

// CTRL_ATTR_MCAST_GROUPS is an array: one nest per group, indexed from 1, each with a name and an id.
function parseMulticastGroups(nest: Buffer): GenlMulticastGroup[] {
  return parseAttributeList(nest).map(({ payload }) => {
    const g = parseAttributes(payload);
    const name = attrString(g.get(CTRL_ATTR_MCAST_GRP.NAME));
    const id = attrU32(g.get(CTRL_ATTR_MCAST_GRP.ID));
    if (name === undefined || id === undefined) throw new MessageParseError("multicast group without name or id");
    return { name, id };
  });
}
