// WG_CMD_SET_DEVICE: a device's configuration change as one or more messages. A nested attribute's
// length is a u16, so a large peer list cannot travel in one message: peers are packed into
// messages of at most `budget` bytes, and a peer whose allowed IPs do not fit is continued in the
// next message under its public key alone, without REPLACE_ALLOWEDIPS (which would drop the part
// already sent). The device's own fields and REPLACE_PEERS go in the first message only.
import type { WgDeviceConfig, WgPeerConfig } from "../wireguard-types.js";
import { align4, type ByteWriter } from "./attributes.js";
import { NLM_F, NLMSG_HDRLEN } from "./constants.js";
import { GENL_HDRLEN, genlRequest } from "./genetlink.js";
import type { Request } from "./request.js";
import { WG_CMD, WG_GENL_VERSION, WGALLOWEDIP_A, WGDEVICE_A, WGDEVICE_F_REPLACE_PEERS, WGPEER_A, WGPEER_F } from "./wireguard.js";
import { decodeKey, encodeAllowedIp, encodeEndpoint, WG_KEY_LEN, WireguardConfigError, type AllowedIp } from "./wireguard-values.js";

/** Half of what a nest's u16 length can hold, and far inside a socket's send buffer (`wg` itself sends a page at a time). */
export const SET_MESSAGE_BUDGET = 32 * 1024;
const MAX_BUDGET = 0xffff;

interface EncodedPeer {
  publicKey: Buffer;
  flags: number;
  presharedKey?: Buffer;
  endpoint?: Buffer;
  keepalive?: number;
  allowedIps: AllowedIp[];
}

interface EncodedDevice {
  name: string;
  privateKey?: Buffer;
  listenPort?: number;
  flags: number;
  peers: EncodedPeer[];
}

/** One message's share of a peer: the first carries all its fields, a continuation only more allowed IPs. */
interface PeerChunk {
  peer: EncodedPeer;
  first: boolean;
  allowedIps: AllowedIp[];
}

/** The SET_DEVICE messages that apply `config` to device `name`, in the order they must be sent. */
export function buildSetDevice(familyId: number, name: string, config: WgDeviceConfig, budget = SET_MESSAGE_BUDGET): Request[] {
  if (budget > MAX_BUDGET) throw new RangeError(`SET_DEVICE budget ${budget} exceeds a nested attribute's ${MAX_BUDGET} bytes`);
  const device = encodeDevice(name, config);
  return planMessages(device, budget).map((chunks, i) =>
    genlRequest(familyId, WG_CMD.SET_DEVICE, WG_GENL_VERSION, NLM_F.REQUEST | NLM_F.ACK, (w) => writeDevice(w, device, chunks, i === 0)),
  );
}

function encodeDevice(name: string, config: WgDeviceConfig): EncodedDevice {
  const device: EncodedDevice = { name, flags: config.replacePeers ? WGDEVICE_F_REPLACE_PEERS : 0, peers: [] };
  if (config.privateKey !== undefined) device.privateKey = decodeKey(config.privateKey, { device: name, field: "private key" });
  if (config.listenPort !== undefined) device.listenPort = checkU16(config.listenPort, name, "listen port");
  device.peers = (config.peers ?? []).map((p, i) => encodePeer(name, p, i));
  return device;
}

function encodePeer(device: string, p: WgPeerConfig, index: number): EncodedPeer {
  const field = (what: string): { device: string; field: string } => ({ device, field: `${what} of peer #${index}` });
  const peer: EncodedPeer = { publicKey: decodeKey(p.publicKey, field("public key")), flags: 0, allowedIps: [] };
  if (p.remove) {
    peer.flags = WGPEER_F.REMOVE_ME;
    return peer;
  }
  if (p.replaceAllowedIps) peer.flags |= WGPEER_F.REPLACE_ALLOWEDIPS;
  // An empty preshared key removes it: the kernel reads 32 zero bytes as "none".
  if (p.presharedKey !== undefined) peer.presharedKey = p.presharedKey === "" ? Buffer.alloc(WG_KEY_LEN) : decodeKey(p.presharedKey, field("preshared key"));
  if (p.endpoint !== undefined) peer.endpoint = encodeEndpoint(p.endpoint, field("endpoint"));
  if (p.persistentKeepalive !== undefined) peer.keepalive = checkU16(p.persistentKeepalive, device, `persistent keepalive of peer #${index}`);
  peer.allowedIps = (p.allowedIps ?? []).map((cidr) => encodeAllowedIp(cidr, field("allowed IP")));
  return peer;
}

function checkU16(v: number, device: string, field: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new WireguardConfigError(device, field, String(v), "want an integer in 0-65535");
  return v;
}

// ---- sizes: what each part adds to a message, so packing never has to undo a write

const attrSize = (payloadLen: number): number => 4 + align4(payloadLen);
const NEST_HEADER = 4;

function deviceHeadSize(d: EncodedDevice, first: boolean): number {
  let size = NLMSG_HDRLEN + GENL_HDRLEN + attrSize(Buffer.byteLength(d.name) + 1) + NEST_HEADER;
  if (!first) return size;
  if (d.privateKey) size += attrSize(WG_KEY_LEN);
  if (d.listenPort !== undefined) size += attrSize(2);
  if (d.flags) size += attrSize(4);
  return size;
}

function chunkHeadSize(c: Omit<PeerChunk, "allowedIps">, withAllowedIps: boolean): number {
  let size = NEST_HEADER + attrSize(WG_KEY_LEN) + (withAllowedIps ? NEST_HEADER : 0);
  if (!c.first) return size;
  if (c.peer.flags) size += attrSize(4);
  if (c.peer.presharedKey) size += attrSize(WG_KEY_LEN);
  if (c.peer.endpoint) size += attrSize(c.peer.endpoint.length);
  if (c.peer.keepalive !== undefined) size += attrSize(2);
  return size;
}

const allowedIpSize = (ip: AllowedIp): number => NEST_HEADER + attrSize(2) + attrSize(ip.addr.length) + attrSize(1);

/** How many of `ips`, from the front, fit in `room` bytes. */
function countFitting(ips: AllowedIp[], room: number): number {
  let n = 0;
  for (let left = room; n < ips.length && allowedIpSize(ips[n]!) <= left; n++) left -= allowedIpSize(ips[n]!);
  return n;
}

/** Packs peers into messages of at most `budget` bytes; every message but the first starts fresh. */
function planMessages(d: EncodedDevice, budget: number): PeerChunk[][] {
  const messages: PeerChunk[][] = [[]];
  let used = deviceHeadSize(d, true);
  for (const peer of d.peers) {
    let rest = peer.allowedIps;
    let first = true;
    do {
      let head = chunkHeadSize({ peer, first }, rest.length > 0);
      let fit = countFitting(rest, budget - used - head);
      const current = messages[messages.length - 1]!;
      if ((used + head > budget || (fit === 0 && rest.length > 0)) && current.length > 0) {
        messages.push([]);
        used = deviceHeadSize(d, false);
        head = chunkHeadSize({ peer, first }, rest.length > 0);
        fit = countFitting(rest, budget - used - head);
      }
      if (used + head > budget || (fit === 0 && rest.length > 0)) throw new RangeError(`SET_DEVICE budget of ${budget} bytes cannot hold one peer of device "${d.name}"`);
      messages[messages.length - 1]!.push({ peer, first, allowedIps: rest.slice(0, fit) });
      used += head + rest.slice(0, fit).reduce((sum, ip) => sum + allowedIpSize(ip), 0);
      rest = rest.slice(fit);
      first = false;
    } while (rest.length > 0);
  }
  return messages;
}

// ---- writing

function writeDevice(w: ByteWriter, d: EncodedDevice, chunks: PeerChunk[], first: boolean): void {
  w.attrString(WGDEVICE_A.IFNAME, d.name);
  if (first) {
    if (d.privateKey) w.attr(WGDEVICE_A.PRIVATE_KEY, d.privateKey);
    if (d.listenPort !== undefined) w.attrU16(WGDEVICE_A.LISTEN_PORT, d.listenPort);
    if (d.flags) w.attrU32(WGDEVICE_A.FLAGS, d.flags);
  }
  if (chunks.length === 0) return;
  // Arrays are nests of nests; the kernel ignores the element's type, which is its index here.
  w.nest(WGDEVICE_A.PEERS, () => chunks.forEach((c, i) => w.nest(i, () => writePeerChunk(w, c))));
}

function writePeerChunk(w: ByteWriter, { peer, first, allowedIps }: PeerChunk): void {
  w.attr(WGPEER_A.PUBLIC_KEY, peer.publicKey);
  if (first) {
    if (peer.flags) w.attrU32(WGPEER_A.FLAGS, peer.flags);
    if (peer.presharedKey) w.attr(WGPEER_A.PRESHARED_KEY, peer.presharedKey);
    if (peer.endpoint) w.attr(WGPEER_A.ENDPOINT, peer.endpoint);
    if (peer.keepalive !== undefined) w.attrU16(WGPEER_A.PERSISTENT_KEEPALIVE_INTERVAL, peer.keepalive);
  }
  if (allowedIps.length === 0) return;
  w.nest(WGPEER_A.ALLOWEDIPS, () =>
    allowedIps.forEach((ip, i) =>
      w.nest(i, () => {
        w.attrU16(WGALLOWEDIP_A.FAMILY, ip.family);
        w.attr(WGALLOWEDIP_A.IPADDR, ip.addr);
        w.attrU8(WGALLOWEDIP_A.CIDR_MASK, ip.prefixLen);
      }),
    ),
  );
}
