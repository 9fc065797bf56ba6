// The kernel's generic netlink family "wireguard" (linux/wireguard.h): reading a device.
// WG_CMD_GET_DEVICE is dump-only; the kernel answers with as many messages as the peers need, the
// first with the device's own attributes, the rest with peers only, and a peer whose allowed IPs
// do not fit is continued, under the same public key, at the start of the next message.
import type { WgDevice, WgPeer } from "../wireguard-types.js";
import { attrString, attrU16, attrU32, attrU64, attrU8, parseAttributeList, parseAttributes } from "./attributes.js";
import { NLM_F } from "./constants.js";
import { genlRequest, parseGenlPayload } from "./genetlink.js";
import { MessageParseError } from "./message.js";
import type { Request } from "./request.js";
import { decodeAllowedIp, decodeEndpoint, encodeKey, isZeroKey, WG_KEY_LEN } from "./wireguard-values.js";

export const WG_GENL_NAME = "wireguard";
export const WG_GENL_VERSION = 1;
export const WG_CMD = { GET_DEVICE: 0, SET_DEVICE: 1 } as const;
export const WGDEVICE_F_REPLACE_PEERS = 1;
export const WGDEVICE_A = { IFINDEX: 1, IFNAME: 2, PRIVATE_KEY: 3, PUBLIC_KEY: 4, FLAGS: 5, LISTEN_PORT: 6, FWMARK: 7, PEERS: 8 } as const;
export const WGPEER_F = { REMOVE_ME: 1, REPLACE_ALLOWEDIPS: 2, UPDATE_ONLY: 4 } as const;
export const WGPEER_A = {
  PUBLIC_KEY: 1,
  PRESHARED_KEY: 2,
  FLAGS: 3,
  ENDPOINT: 4,
  PERSISTENT_KEEPALIVE_INTERVAL: 5,
  LAST_HANDSHAKE_TIME: 6,
  RX_BYTES: 7,
  TX_BYTES: 8,
  ALLOWEDIPS: 9,
  PROTOCOL_VERSION: 10,
} as const;
export const WGALLOWEDIP_A = { FAMILY: 1, IPADDR: 2, CIDR_MASK: 3 } as const;

/** WG_CMD_GET_DEVICE for the device named `name` (the kernel takes a name or an index, not both). */
export function buildGetDevice(familyId: number, name: string): Request {
  return genlRequest(familyId, WG_CMD.GET_DEVICE, WG_GENL_VERSION, NLM_F.REQUEST | NLM_F.DUMP, (w) => w.attrString(WGDEVICE_A.IFNAME, name));
}

/** One message's share of a device: the device's attributes are only in the first. */
interface DevicePart {
  name?: string;
  privateKey?: string;
  publicKey?: string;
  listenPort?: number;
  fwmark?: number;
  peers: WgPeer[];
}

/** The device from every message of one GET_DEVICE dump (payloads after nlmsghdr), peers merged. */
export function parseDeviceMessages(payloads: Buffer[]): WgDevice {
  const [first, ...rest] = payloads.map(parseDevicePart);
  if (!first?.name) throw new MessageParseError("WG_CMD_GET_DEVICE reply without the device's name");
  const device: WgDevice = { name: first.name, listenPort: first.listenPort ?? 0, peers: [] };
  if (first.privateKey) device.privateKey = first.privateKey;
  if (first.publicKey) device.publicKey = first.publicKey;
  if (first.fwmark) device.fwmark = first.fwmark;
  const byKey = new Map<string, WgPeer>();
  for (const peer of [first, ...rest].flatMap((part) => part.peers)) {
    const known = byKey.get(peer.publicKey);
    if (known) {
      // The same peer continued from the previous message: only its further allowed IPs are new.
      known.allowedIps.push(...peer.allowedIps);
      continue;
    }
    byKey.set(peer.publicKey, peer);
    device.peers.push(peer);
  }
  return device;
}

function parseDevicePart(payload: Buffer): DevicePart {
  const a = parseAttributes(parseGenlPayload(payload).attrs);
  const part: DevicePart = { peers: [] };
  const name = attrString(a.get(WGDEVICE_A.IFNAME));
  if (name !== undefined) part.name = name;
  const privateKey = keyOf(a.get(WGDEVICE_A.PRIVATE_KEY));
  if (privateKey) part.privateKey = privateKey;
  const publicKey = keyOf(a.get(WGDEVICE_A.PUBLIC_KEY));
  if (publicKey) part.publicKey = publicKey;
  const listenPort = attrU16(a.get(WGDEVICE_A.LISTEN_PORT));
  if (listenPort !== undefined) part.listenPort = listenPort;
  const fwmark = attrU32(a.get(WGDEVICE_A.FWMARK));
  if (fwmark !== undefined) part.fwmark = fwmark;
  const peers = a.get(WGDEVICE_A.PEERS);
  // Peers are a netlink array: every element is nested under index 0, so they are read as a list.
  if (peers) part.peers = parseAttributeList(peers).map(({ payload: p }) => parsePeer(p));
  return part;
}

/** A key attribute as base64; undefined when absent or all zeros (the kernel's "none"). */
function keyOf(b: Buffer | undefined): string | undefined {
  if (!b) return undefined;
  if (b.length !== WG_KEY_LEN) throw new MessageParseError(`WireGuard key of ${b.length} bytes, not ${WG_KEY_LEN}`);
  return isZeroKey(b) ? undefined : encodeKey(b);
}

function parsePeer(payload: Buffer): WgPeer {
  const a = parseAttributes(payload);
  const publicKey = keyOf(a.get(WGPEER_A.PUBLIC_KEY));
  if (!publicKey) throw new MessageParseError("WireGuard peer without a public key");
  const peer: WgPeer = { publicKey, allowedIps: [] };
  const presharedKey = keyOf(a.get(WGPEER_A.PRESHARED_KEY));
  if (presharedKey) peer.presharedKey = presharedKey;
  const endpoint = a.get(WGPEER_A.ENDPOINT);
  const endpointText = endpoint && decodeEndpoint(endpoint);
  if (endpointText) peer.endpoint = endpointText;
  const keepalive = attrU16(a.get(WGPEER_A.PERSISTENT_KEEPALIVE_INTERVAL));
  if (keepalive) peer.persistentKeepalive = keepalive;
  const handshake = a.get(WGPEER_A.LAST_HANDSHAKE_TIME);
  // struct __kernel_timespec: s64 seconds, s64 nanoseconds.
  if (handshake && handshake.length >= 8) peer.lastHandshakeSeconds = Number(handshake.readBigInt64LE(0));
  const rx = attrU64(a.get(WGPEER_A.RX_BYTES));
  if (rx !== undefined) peer.rxBytes = rx;
  const tx = attrU64(a.get(WGPEER_A.TX_BYTES));
  if (tx !== undefined) peer.txBytes = tx;
  const allowed = a.get(WGPEER_A.ALLOWEDIPS);
  if (allowed) peer.allowedIps = parseAttributeList(allowed).map(({ payload: ip }) => parseAllowedIp(ip));
  return peer;
}

function parseAllowedIp(payload: Buffer): string {
  const a = parseAttributes(payload);
  const family = attrU16(a.get(WGALLOWEDIP_A.FAMILY));
  const addr = a.get(WGALLOWEDIP_A.IPADDR);
  const prefixLen = attrU8(a.get(WGALLOWEDIP_A.CIDR_MASK));
  if (family === undefined || !addr || prefixLen === undefined) throw new MessageParseError("WireGuard allowed IP without family, address or mask");
  if (addr.length !== 4 && addr.length !== 16) throw new MessageParseError(`WireGuard allowed IP of ${addr.length} bytes`);
  return decodeAllowedIp({ family, addr, prefixLen });
}
