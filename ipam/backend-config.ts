// The network config's Backend object, in flannel's field names and with flannel's defaults for each
// of its common backends (pkg/backend/vxlan, wireguard, hostgw): a flannel net-conf.json carries over.
import { NetworkConfigError } from "./config-error.js";

/** A WireGuard key: 32 bytes in base64 (44 characters, the last before "=" carrying 4 bits). */
export const WIREGUARD_KEY = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export interface VxlanBackendConfig {
  type: "vxlan";
  vni: number;
  port: number;
  /** Remote nodes on the same L2 are routed directly, without encapsulation. */
  directRouting: boolean;
}

/** How a wireguard backend carries the two families: a device each, or one device (with the endpoint family chosen). */
export type WireguardMode = "separate" | "auto" | "ipv4" | "ipv6";

export interface WireguardBackendConfig {
  type: "wireguard";
  listenPort: number;
  listenPortV6: number;
  /** A pre-shared key (base64) every peer uses, on top of the key exchange. */
  psk?: string;
  /** Seconds between keepalives; 0 is off. */
  persistentKeepaliveInterval: number;
  mode: WireguardMode;
  /** The underlay MTU the device's is derived from (device = MTU − 80); absent: the underlay interface's. */
  mtu?: number;
}

export interface HostGwBackendConfig {
  type: "host-gw";
}

export type BackendConfig = VxlanBackendConfig | WireguardBackendConfig | HostGwBackendConfig;

export const VXLAN_DEFAULTS: VxlanBackendConfig = { type: "vxlan", vni: 1, port: 8472, directRouting: false };


const fail = (field: string, value: unknown, why: string): never => {
  throw new NetworkConfigError(`Backend.${field}=${JSON.stringify(value)} ${why}`);
};

function int(obj: Record<string, unknown>, field: string, dflt: number, min: number, max: number): number {
  const v = obj[field] ?? dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) return fail(field, v, `must be an integer from ${min} to ${max}`);
  return v;
}

const MODES: readonly WireguardMode[] = ["separate", "auto", "ipv4", "ipv6"];

function parseWireguard(b: Record<string, unknown>): WireguardBackendConfig {
  const mode = (b.Mode ?? "separate") as WireguardMode;
  if (!MODES.includes(mode)) fail("Mode", b.Mode, `must be one of ${MODES.map((m) => `"${m}"`).join(", ")}`);
  const psk = b.PSK;
  if (psk !== undefined && psk !== "" && (typeof psk !== "string" || !WIREGUARD_KEY.test(psk))) fail("PSK", psk, "is not a WireGuard key (32 bytes in base64, as `wg genpsk` prints)");
  const cfg: WireguardBackendConfig = {
    type: "wireguard",
    listenPort: int(b, "ListenPort", 51820, 1, 65535),
    listenPortV6: int(b, "ListenPortV6", 51821, 1, 65535),
    persistentKeepaliveInterval: int(b, "PersistentKeepaliveInterval", 0, 0, 65535),
    mode,
  };
  if (typeof psk === "string" && psk) cfg.psk = psk;
  if (b.MTU !== undefined && b.MTU !== 0) cfg.mtu = int(b, "MTU", 0, 1280, 65535);
  return cfg;
}

export function parseBackendConfig(input: unknown): BackendConfig {
  const b = (input ?? { Type: "vxlan" }) as Record<string, unknown>;
  if (typeof b !== "object" || b === null || Array.isArray(b)) throw new NetworkConfigError(`Backend=${JSON.stringify(input)} must be an object`);
  const type = b.Type ?? "vxlan";
  if (type === "wireguard") return parseWireguard(b);
  if (type === "host-gw") return { type: "host-gw" };
  if (type !== "vxlan") return fail("Type", b.Type, `is not supported (weft implements "vxlan", "wireguard" and "host-gw")`);
  const directRouting = b.DirectRouting ?? false;
  if (typeof directRouting !== "boolean") return fail("DirectRouting", directRouting, "must be true or false");
  return { type: "vxlan", vni: int(b, "VNI", 1, 1, 16_777_215), port: int(b, "Port", 8472, 1, 65535), directRouting };
}

/** The Backend object as flannel's net-conf.json spells it. */
export function backendConfigJson(b: BackendConfig): object {
  if (b.type === "host-gw") return { Type: "host-gw" };
  if (b.type === "vxlan") return { Type: "vxlan", VNI: b.vni, Port: b.port, DirectRouting: b.directRouting };
  return { Type: "wireguard", ListenPort: b.listenPort, ListenPortV6: b.listenPortV6, ...(b.psk ? { PSK: b.psk } : {}), PersistentKeepaliveInterval: b.persistentKeepaliveInterval, Mode: b.mode, ...(b.mtu ? { MTU: b.mtu } : {}) };
}

/** One line for logs and the CLI: "vxlan (VNI 1, port 8472)", "wireguard (separate, ports 51820/51821)", "host-gw". */
export function describeBackend(b: BackendConfig): string {
  if (b.type === "vxlan") return `vxlan (VNI ${b.vni}, port ${b.port}${b.directRouting ? ", DirectRouting" : ""})`;
  if (b.type === "wireguard") return `wireguard (${b.mode}, ports ${b.listenPort}/${b.listenPortV6}${b.psk ? ", PSK" : ""})`;
  return "host-gw";
}
