// Kernel WireGuard control over a scripted socket: what it sends, how it reads a dump, how it
// names failures. The same paths against the real kernel are in the e2e test, where it has WireGuard.
import { describe, expect, it } from "vitest";
import { NLM_F } from "./codec/constants.js";
import type { GenlFamily } from "./codec/genetlink.js";
import type { NetlinkMessage } from "./codec/message.js";
import type { Request } from "./codec/request.js";
import { WG_CMD } from "./codec/wireguard.js";
import { buildSetDevice } from "./codec/wireguard-set.js";
import { WireguardConfigError } from "./codec/wireguard-values.js";
import { NetlinkError, netlinkError, NotFoundError } from "./errors.js";
import { wireguardControlOver, type GenericNetlinkTransport } from "./wireguard-kernel.js";
import type { WgDeviceConfig } from "./wireguard-types.js";

const FAMILY: GenlFamily = { name: "wireguard", id: 0x1b, version: 1, hdrSize: 0, maxAttr: 8, multicastGroups: [] };
const key = (byte: number): string => Buffer.alloc(32, byte).toString("base64");

interface Sent {
  req: Request;
  op: string;
  object: string;
}

/** A socket that records what it is sent and answers dumps from a script (or throws what it is told). */
class ScriptedSocket implements GenericNetlinkTransport {
  sent: Sent[] = [];
  dumps: (NetlinkMessage[] | Error)[] = [];
  failRequest?: Error;
  closed = false;

  request(req: Request, op: string, object: string): NetlinkMessage[] {
    this.sent.push({ req, op, object });
    if (this.failRequest) throw this.failRequest;
    return [];
  }

  dump(req: Request, op: string, object: string): NetlinkMessage[] {
    this.sent.push({ req, op, object });
    const next = this.dumps.shift();
    if (!next) throw new Error("scripted socket: no dump reply left");
    if (next instanceof Error) throw next;
    return next;
  }

  close(): void {
    this.closed = true;
  }
}

// The device's attribute tree is the same in SET requests and GET replies, so SET bodies split by
// a small budget stand in for the kernel's multi-message reply.
const config: WgDeviceConfig = {
  listenPort: 51820,
  peers: [1, 2].map((n) => ({ publicKey: key(n), allowedIps: Array.from({ length: 20 }, (_, i) => `10.${n}.${i}.0/24`) })),
};
const replyOf = (flags: number = NLM_F.MULTI): NetlinkMessage[] => [
  ...buildSetDevice(FAMILY.id, "wg0", config, 512).map((r) => ({ type: FAMILY.id, flags, seq: 1, pid: 0, payload: r.body })),
  { type: 0x99, flags, seq: 1, pid: 0, payload: Buffer.alloc(4) }, // not of the family: ignored
];

describe("kernel WireGuard control", () => {
  it("reads a device with one GET_DEVICE dump and merges its messages", async () => {
    const sock = new ScriptedSocket();
    sock.dumps.push(replyOf());
    const device = await wireguardControlOver(sock, FAMILY, "/var/run/netns/x").getDevice("wg0");
    expect(device.peers.map((p) => p.allowedIps.length)).toEqual([20, 20]);
    expect(sock.sent).toHaveLength(1);
    expect(sock.sent[0]).toMatchObject({ op: "read", object: 'wireguard device "wg0" in /var/run/netns/x' });
    expect(sock.sent[0]!.req).toMatchObject({ type: FAMILY.id, flags: NLM_F.REQUEST | NLM_F.DUMP });
    expect(sock.sent[0]!.req.body[0]).toBe(WG_CMD.GET_DEVICE);
  });

  it("reads again when the dump was torn by a concurrent change, and gives up after three", async () => {
    const sock = new ScriptedSocket();
    sock.dumps.push(replyOf(NLM_F.MULTI | NLM_F.DUMP_INTR), replyOf());
    expect((await wireguardControlOver(sock, FAMILY).getDevice("wg0")).peers).toHaveLength(2);
    expect(sock.sent).toHaveLength(2);
    const torn = new ScriptedSocket();
    torn.dumps.push(...[1, 2, 3, 4].map(() => replyOf(NLM_F.MULTI | NLM_F.DUMP_INTR)));
    await expect(wireguardControlOver(torn, FAMILY).getDevice("wg0")).rejects.toThrow(/changed during each of 3 reads/);
    expect(torn.sent).toHaveLength(3);
  });

  it("sends a large configuration as its SET_DEVICE messages, in order", async () => {
    const sock = new ScriptedSocket();
    const big: WgDeviceConfig = { replacePeers: true, peers: Array.from({ length: 2000 }, (_, n) => ({ publicKey: key(1 + (n % 200)), allowedIps: [`10.${n >> 8}.${n & 255}.0/24`] })) };
    await wireguardControlOver(sock, FAMILY).configureDevice("wg0", big);
    const expected = buildSetDevice(FAMILY.id, "wg0", big);
    expect(expected.length).toBeGreaterThan(1);
    // Compared as hex: a deep comparison of Buffers goes byte by byte through the matcher, for seconds.
    const asHex = (r: Request): string => `${r.type} ${r.flags} ${r.body.toString("hex")}`;
    expect(sock.sent.map((s) => asHex(s.req))).toEqual(expected.map(asHex));
    expect(new Set(sock.sent.map((s) => `${s.op} ${s.object}`))).toEqual(new Set(['configure wireguard device "wg0"']));
  });

  it("answers NotFoundError for a link that is not WireGuard, and passes other kernel errors on", async () => {
    const sock = new ScriptedSocket();
    sock.dumps.push(netlinkError("read", 'wireguard device "lo"', 95));
    const err = await wireguardControlOver(sock, FAMILY).getDevice("lo").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(String(err)).toMatch(/read wireguard device "lo": EOPNOTSUPP; the link exists but is not a WireGuard device/);
    sock.failRequest = netlinkError("configure", 'wireguard device "wg9"', 19);
    await expect(wireguardControlOver(sock, FAMILY).configureDevice("wg9", { listenPort: 1 })).rejects.toThrow(NotFoundError);
    sock.failRequest = netlinkError("configure", 'wireguard device "wg0"', 1);
    await expect(wireguardControlOver(sock, FAMILY).configureDevice("wg0", { listenPort: 1 })).rejects.toThrow(NetlinkError);
  });

  it("refuses a bad configuration as a rejected promise, before sending anything", async () => {
    const sock = new ScriptedSocket();
    const pending = wireguardControlOver(sock, FAMILY).configureDevice("wg0", { peers: [{ publicKey: key(1) }, { publicKey: "bad" }] });
    await expect(pending).rejects.toThrow(WireguardConfigError);
    expect(sock.sent).toEqual([]);
  });

  it("closes its socket", () => {
    const sock = new ScriptedSocket();
    wireguardControlOver(sock, FAMILY).close();
    expect(sock.closed).toBe(true);
  });
});
