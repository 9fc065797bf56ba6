// The VXLAN devices weft.<VNI> and, on a dual-stack node, weft-v6.<VNI> (flannel's flannel-v6.<VNI>):
// created, or repaired when they drifted (deleted by hand, wrong VNI, local address, port, MTU or MAC).
// Each MAC is derived from VNI and public IP, so a restarted weftd (or a replaced node with the same IP)
// keeps the VTEP MACs the other nodes have programmed.
import { ipv4ToInt } from "../../../ipam/ipv4.js";
import { ipv6ToBigInt } from "../../../ipam/ipv6.js";
import { ExistsError, type Link, type NetlinkHandle } from "../../../netlink/index.js";

export interface VxlanSpec {
  vni: number;
  port: number;
  localIp: string;
  underlayIndex: number;
  mtu: number;
  /** The subnet's .0/32 on the device (IPv6: its network address /128), as flannel does. */
  address: string;
  /** 6 for the IPv6 device, over an IPv6 underlay. */
  family?: 4 | 6;
}

export const vxlanName = (vni: number, family: 4 | 6 = 4): string => (family === 6 ? `weft-v6.${vni}` : `weft.${vni}`);

/** 02:<vni>:<IPv4 address>; for an IPv6 underlay address 06:<vni>:<its last 32 bits>. Locally administered. */
export function vtepMacFor(vni: number, publicIp: string): string {
  const v6 = publicIp.includes(":");
  const ip = v6 ? Number(ipv6ToBigInt(publicIp) & 0xffffffffn) : ipv4ToInt(publicIp);
  const bytes = [v6 ? 0x06 : 0x02, vni & 0xff, (ip >>> 24) & 0xff, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}

function matches(link: Link, spec: VxlanSpec): boolean {
  const v = link.vxlan;
  return link.kind === "vxlan" && v !== undefined && v.vni === spec.vni && v.local === spec.localIp && v.port === spec.port && v.devIndex === spec.underlayIndex && !v.learning;
}

/** Returns the device and whether it was (re)created, in which case every entry on it is gone. */
export function ensureVxlanDevice(h: NetlinkHandle, spec: VxlanSpec): { link: Link; created: boolean } {
  const family = spec.family ?? 4;
  const name = vxlanName(spec.vni, family);
  const mac = vtepMacFor(spec.vni, spec.localIp);
  let link = h.linkFind(name);
  let created = false;
  if (link && !matches(link, spec)) {
    h.linkDelete(link.index);
    link = undefined;
  }
  if (!link) {
    link = h.linkAddVxlan(name, { vni: spec.vni, local: spec.localIp, devIndex: spec.underlayIndex, port: spec.port, learning: false, mtu: spec.mtu, mac });
    created = true;
  }
  if (link.mtu !== spec.mtu) h.linkSetMtu(link.index, spec.mtu);
  if (link.mac !== mac) h.linkSetMac(link.index, mac);
  const addrs = h.addrList(link.index, family).filter((a) => a.scope !== "link").map((a) => `${a.address}/${a.prefixLen}`);
  for (const stale of addrs.filter((a) => a !== spec.address)) h.addrDel(link.index, stale);
  if (!addrs.includes(spec.address)) {
    try {
      h.addrAdd(link.index, spec.address);
    } catch (err) {
      if (!(err instanceof ExistsError)) throw err;
    }
  }
  if (!link.up) h.linkSetUp(link.index);
  return { link: h.linkGet(link.index), created };
}
