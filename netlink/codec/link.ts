// RTM_*LINK messages: struct ifinfomsg {family u8, pad u8, type u16, index i32, flags u32, change u32}
// followed by IFLA_* attributes; IFLA_LINKINFO nests the kind (veth, bridge, vxlan) and its data.
import type { Link, VxlanInfo } from "../types.js";
import { decodeIp, decodeMac, encodeIp, encodeMac } from "./addresses.js";
import { attrBe16, attrString, attrU32, attrU8, ByteWriter, parseAttributes } from "./attributes.js";
import { AF_BRIDGE, AF_UNSPEC, IFF_UP, IFLA, IFLA_BRPORT_MODE, IFLA_INFO, IFLA_VXLAN, NLM_F, RTM, VETH_INFO_PEER } from "./constants.js";
import type { Request } from "./request.js";
import { requireLength } from "./message.js";
import { readI32LE, readU32LE } from "./bytes.js";

const IFINFOMSG_LEN = 16;

function ifinfomsg(w: ByteWriter, index = 0, flags = 0, change = 0, family = AF_UNSPEC): void {
  w.u8(family);
  w.u8(0);
  w.u16(0);
  w.i32(index);
  w.u32(flags);
  w.u32(change);
}

/** Identifies the target link: by index in the header, or by IFLA_IFNAME. */
function target(w: ByteWriter, ref: number | string, flags = 0, change = 0, family = AF_UNSPEC): void {
  ifinfomsg(w, typeof ref === "number" ? ref : 0, flags, change, family);
  if (typeof ref === "string") w.attrString(IFLA.IFNAME, ref);
}

export interface NewLinkSpec {
  name: string;
  kind: "bridge" | "veth" | "vxlan" | "dummy" | "wireguard";
  mtu?: number;
  mac?: string;
  /** Born enslaved to this bridge (IFLA_MASTER). (A veth cannot be born up: the kernel opens the first
   *  end before the pair is wired and answers ENOTCONN.) */
  masterIndex?: number;
  /** veth: the peer's name and where it is born. */
  peer?: { name: string; netnsFd?: number; mtu?: number; mac?: string };
  vxlan?: { vni: number; local?: string; devIndex?: number; port?: number; learning?: boolean };
}

export function buildNewLink(spec: NewLinkSpec): Request {
  const w = new ByteWriter();
  ifinfomsg(w);
  w.attrString(IFLA.IFNAME, spec.name);
  if (spec.masterIndex) w.attrU32(IFLA.MASTER, spec.masterIndex);
  if (spec.mtu) w.attrU32(IFLA.MTU, spec.mtu);
  if (spec.mac) w.attr(IFLA.ADDRESS, encodeMac(spec.mac));
  w.nest(IFLA.LINKINFO, () => {
    w.attrString(IFLA_INFO.KIND, spec.kind);
    const { peer, vxlan } = spec;
    if (spec.kind === "veth" && peer) {
      w.nest(IFLA_INFO.DATA, () =>
        w.nest(VETH_INFO_PEER, () => {
          ifinfomsg(w);
          w.attrString(IFLA.IFNAME, peer.name);
          if (peer.mtu) w.attrU32(IFLA.MTU, peer.mtu);
          if (peer.mac) w.attr(IFLA.ADDRESS, encodeMac(peer.mac));
          if (peer.netnsFd !== undefined) w.attrU32(IFLA.NET_NS_FD, peer.netnsFd);
        }),
      );
    }
    if (spec.kind === "vxlan" && vxlan) {
      w.nest(IFLA_INFO.DATA, () => {
        w.attrU32(IFLA_VXLAN.ID, vxlan.vni);
        if (vxlan.local) w.attr(vxlan.local.includes(":") ? IFLA_VXLAN.LOCAL6 : IFLA_VXLAN.LOCAL, encodeIp(vxlan.local));
        if (vxlan.devIndex) w.attrU32(IFLA_VXLAN.LINK, vxlan.devIndex);
        if (vxlan.port) w.attrBe16(IFLA_VXLAN.PORT, vxlan.port);
        w.attrU8(IFLA_VXLAN.LEARNING, vxlan.learning ? 1 : 0);
      });
    }
  });
  return { type: RTM.NEWLINK, flags: NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL, body: w.toBuffer() };
}

export function buildGetLink(ref: number | string): Request {
  const w = new ByteWriter();
  target(w, ref);
  return { type: RTM.GETLINK, flags: NLM_F.REQUEST, body: w.toBuffer() };
}

export function buildDumpLinks(): Request {
  const w = new ByteWriter();
  ifinfomsg(w);
  return { type: RTM.GETLINK, flags: NLM_F.REQUEST | NLM_F.DUMP, body: w.toBuffer() };
}

export function buildDelLink(ref: number | string): Request {
  const w = new ByteWriter();
  target(w, ref);
  return { type: RTM.DELLINK, flags: NLM_F.REQUEST | NLM_F.ACK, body: w.toBuffer() };
}

export interface LinkChange {
  up?: boolean;
  mtu?: number;
  mac?: string;
  /** ifindex of the new master; 0 releases the link from its master. */
  masterIndex?: number;
  name?: string;
  netnsFd?: number;
}

/** RTM_NEWLINK without CREATE modifies an existing link (what `ip link set` sends). */
export function buildSetLink(ref: number | string, change: LinkChange): Request {
  const w = new ByteWriter();
  const upFlags = change.up === undefined ? 0 : change.up ? IFF_UP : 0;
  const upChange = change.up === undefined ? 0 : IFF_UP;
  // Renaming needs the index in the header: IFLA_IFNAME then carries the new name.
  if (change.name !== undefined && typeof ref === "string") throw new TypeError("rename needs the link's index");
  target(w, ref, upFlags, upChange);
  if (change.name !== undefined) w.attrString(IFLA.IFNAME, change.name);
  if (change.mtu !== undefined) w.attrU32(IFLA.MTU, change.mtu);
  if (change.mac !== undefined) w.attr(IFLA.ADDRESS, encodeMac(change.mac));
  if (change.masterIndex !== undefined) w.attrU32(IFLA.MASTER, change.masterIndex);
  if (change.netnsFd !== undefined) w.attrU32(IFLA.NET_NS_FD, change.netnsFd);
  return { type: RTM.NEWLINK, flags: NLM_F.REQUEST | NLM_F.ACK, body: w.toBuffer() };
}

/** Bridge-port hairpin: RTM_SETLINK with family AF_BRIDGE and IFLA_PROTINFO{IFLA_BRPORT_MODE}. */
export function buildSetHairpin(index: number, on: boolean): Request {
  const w = new ByteWriter();
  ifinfomsg(w, index, 0, 0, AF_BRIDGE);
  w.nest(IFLA.PROTINFO, () => w.attrU8(IFLA_BRPORT_MODE, on ? 1 : 0));
  return { type: RTM.SETLINK, flags: NLM_F.REQUEST | NLM_F.ACK, body: w.toBuffer() };
}

export function parseLink(payload: Buffer): Link {
  requireLength(payload, IFINFOMSG_LEN, "ifinfomsg");
  const index = readI32LE(payload, 4);
  const flags = readU32LE(payload, 8);
  const attrs = parseAttributes(payload, IFINFOMSG_LEN);
  const link: Link = {
    index,
    name: attrString(attrs.get(IFLA.IFNAME)) ?? "",
    mtu: attrU32(attrs.get(IFLA.MTU)) ?? 0,
    up: (flags & IFF_UP) !== 0,
  };
  const mac = attrs.get(IFLA.ADDRESS);
  if (mac && mac.length === 6) link.mac = decodeMac(mac);
  const master = attrU32(attrs.get(IFLA.MASTER));
  if (master) link.masterIndex = master;
  const parent = attrU32(attrs.get(IFLA.LINK));
  if (parent && parent !== index) link.parentIndex = parent;
  const info = attrs.get(IFLA.LINKINFO);
  if (info) parseLinkInfo(info, link);
  return link;
}

function parseLinkInfo(info: Buffer, link: Link): void {
  const infoAttrs = parseAttributes(info);
  const kind = attrString(infoAttrs.get(IFLA_INFO.KIND));
  if (kind) link.kind = kind;
  const data = infoAttrs.get(IFLA_INFO.DATA);
  if (kind === "vxlan" && data) link.vxlan = parseVxlanData(data);
  if (attrString(infoAttrs.get(IFLA_INFO.SLAVE_KIND)) === "bridge") {
    const slave = infoAttrs.get(IFLA_INFO.SLAVE_DATA);
    const mode = slave ? attrU8(parseAttributes(slave).get(IFLA_BRPORT_MODE)) : undefined;
    link.bridgePort = { hairpin: mode === 1 };
  }
}

function parseVxlanData(data: Buffer): VxlanInfo {
  const a = parseAttributes(data);
  const info: VxlanInfo = { vni: attrU32(a.get(IFLA_VXLAN.ID)) ?? 0, learning: attrU8(a.get(IFLA_VXLAN.LEARNING)) === 1 };
  const local = a.get(IFLA_VXLAN.LOCAL) ?? a.get(IFLA_VXLAN.LOCAL6);
  if (local) info.local = decodeIp(local);
  const dev = attrU32(a.get(IFLA_VXLAN.LINK));
  if (dev) info.devIndex = dev;
  const port = attrBe16(a.get(IFLA_VXLAN.PORT));
  if (port) info.port = port;
  return info;
}
