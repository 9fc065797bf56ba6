// WireGuard's cross-platform configuration protocol (the "UAPI"): key=value lines over the unix
// socket a userspace implementation (wireguard-go) serves at /var/run/wireguard/<device>.sock.
// `get=1` dumps the device; `set=1` applies a change; each answer ends with errno=N and a blank line.
import { connect } from "node:net";
import { join } from "node:path";
import { NotFoundError } from "../../../netlink/index.js";
import type { WgDevice, WgDeviceConfig, WgPeer, WireguardControl } from "../../../netlink/wireguard-types.js";

export const UAPI_DIR = "/var/run/wireguard";
const TIMEOUT_MS = 5_000;

export class UapiError extends Error {
  constructor(
    readonly device: string,
    message: string,
  ) {
    super(`WireGuard device ${device} (userspace): ${message}`);
    this.name = "UapiError";
  }
}

const hexKey = (b64: string): string => Buffer.from(b64, "base64").toString("hex");
const b64Key = (hex: string): string => Buffer.from(hex, "hex").toString("base64");
const ZERO_KEY = "0".repeat(64);

/** The lines `set=1` takes for a change, in the protocol's order (device keys first, then each peer's). */
export function encodeSet(config: WgDeviceConfig): string {
  const lines = ["set=1"];
  if (config.privateKey !== undefined) lines.push(`private_key=${hexKey(config.privateKey)}`);
  if (config.listenPort !== undefined) lines.push(`listen_port=${config.listenPort}`);
  if (config.replacePeers) lines.push("replace_peers=true");
  for (const p of config.peers ?? []) {
    lines.push(`public_key=${hexKey(p.publicKey)}`);
    if (p.remove) {
      lines.push("remove=true");
      continue;
    }
    if (p.presharedKey !== undefined) lines.push(`preshared_key=${p.presharedKey ? hexKey(p.presharedKey) : ZERO_KEY}`);
    if (p.endpoint) lines.push(`endpoint=${p.endpoint}`);
    if (p.persistentKeepalive !== undefined) lines.push(`persistent_keepalive_interval=${p.persistentKeepalive}`);
    if (p.replaceAllowedIps) lines.push("replace_allowed_ips=true");
    for (const ip of p.allowedIps ?? []) lines.push(`allowed_ip=${ip}`);
  }
  return `${lines.join("\n")}\n\n`;
}

/** A `get=1` answer as a device; throws on a non-zero errno. */
export function parseGet(name: string, text: string): WgDevice {
  const dev: WgDevice = { name, listenPort: 0, peers: [] };
  let peer: WgPeer | undefined;
  for (const line of text.split("\n")) {
    if (!line) continue;
    const eq = line.indexOf("=");
    const [key, value] = [line.slice(0, eq), line.slice(eq + 1)];
    if (key === "errno" && value !== "0") throw new UapiError(name, `get failed with errno ${value}`);
    if (key === "public_key") {
      peer = { publicKey: b64Key(value), allowedIps: [] };
      dev.peers.push(peer);
    } else if (!peer) {
      if (key === "private_key" && value !== ZERO_KEY) dev.privateKey = b64Key(value);
      else if (key === "listen_port") dev.listenPort = Number(value);
      else if (key === "fwmark") dev.fwmark = Number(value);
    } else if (key === "preshared_key") {
      if (value !== ZERO_KEY) peer.presharedKey = b64Key(value);
    } else if (key === "endpoint") peer.endpoint = value;
    else if (key === "persistent_keepalive_interval") peer.persistentKeepalive = Number(value);
    else if (key === "allowed_ip") peer.allowedIps.push(value);
    else if (key === "last_handshake_time_sec") peer.lastHandshakeSeconds = Number(value);
    else if (key === "rx_bytes") peer.rxBytes = Number(value);
    else if (key === "tx_bytes") peer.txBytes = Number(value);
  }
  return dev;
}

/** One request on a fresh connection (the protocol's way): the answer up to its closing blank line. */
function exchange(device: string, socketPath: string, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path: socketPath });
    let answer = "";
    const timer = setTimeout(() => sock.destroy(new UapiError(device, `no answer on ${socketPath} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(request));
    sock.on("data", (chunk: string) => {
      answer += chunk;
      if (answer.endsWith("\n\n")) {
        clearTimeout(timer);
        sock.end();
        resolve(answer);
      }
    });
    sock.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === "ENOENT" || err.code === "ECONNREFUSED") reject(new NotFoundError(`UAPI connect ${socketPath} of`, `WireGuard device ${device}`, err.code === "ENOENT" ? 2 : 111, undefined, "no userspace WireGuard serves it"));
      else reject(err instanceof UapiError ? err : new UapiError(device, `${socketPath}: ${err.message}`));
    });
    sock.on("close", () => {
      clearTimeout(timer);
      if (!answer.endsWith("\n\n")) reject(new UapiError(device, `${socketPath} closed before the answer was complete`));
    });
  });
}

export const uapiSocketPath = (device: string, dir = UAPI_DIR): string => join(dir, `${device}.sock`);

/** A userspace WireGuard implementation, driven over its UAPI sockets. */
export class UapiWireguard implements WireguardControl {
  readonly kind = "userspace" as const;

  constructor(private readonly dir = UAPI_DIR) {}

  async getDevice(name: string): Promise<WgDevice> {
    return parseGet(name, await exchange(name, uapiSocketPath(name, this.dir), "get=1\n\n"));
  }

  async configureDevice(name: string, config: WgDeviceConfig): Promise<void> {
    const answer = await exchange(name, uapiSocketPath(name, this.dir), encodeSet(config));
    const errno = /errno=(-?\d+)/.exec(answer)?.[1];
    if (errno !== "0") throw new UapiError(name, `set failed with errno ${errno ?? "?"} (a malformed key, endpoint or allowed IP?)`);
  }

  close(): void {}
}
