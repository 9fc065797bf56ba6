// A WireGuard device's configuration, as wgctrl models it: what both ways of driving a device speak —
// the kernel's generic netlink family "wireguard" and wireguard-go's UAPI text protocol. Keys are
// base64 (what leases, `wg show` and config files carry); each implementation converts them.

export interface WgPeer {
  publicKey: string;
  presharedKey?: string;
  /** "192.0.2.1:51820" or "[2001:db8::1]:51821". */
  endpoint?: string;
  /** Seconds; 0 or absent: off. */
  persistentKeepalive?: number;
  /** CIDRs in canonical text ("10.244.1.0/24", "fd00:10:244:1::/64"). */
  allowedIps: string[];
  /** Read only: when the last handshake completed (0: never), and the bytes counted. */
  lastHandshakeSeconds?: number;
  rxBytes?: number;
  txBytes?: number;
}

export interface WgDevice {
  name: string;
  /** Absent when the device has none yet. */
  privateKey?: string;
  publicKey?: string;
  listenPort: number;
  fwmark?: number;
  peers: WgPeer[];
}

/** A peer's change, as WG_CMD_SET_DEVICE / UAPI `set=1` take it. */
export interface WgPeerConfig {
  publicKey: string;
  /** Removes the peer; nothing else of the entry is used. */
  remove?: boolean;
  /** "" removes the peer's preshared key; absent leaves it. */
  presharedKey?: string;
  endpoint?: string;
  persistentKeepalive?: number;
  /** Replace the peer's allowed IPs with `allowedIps` rather than adding to them. */
  replaceAllowedIps?: boolean;
  allowedIps?: string[];
}

export interface WgDeviceConfig {
  privateKey?: string;
  listenPort?: number;
  /** Remove every peer not named in `peers` first. */
  replacePeers?: boolean;
  peers?: WgPeerConfig[];
}

/** One way of reading and configuring WireGuard devices (kernel netlink, or a userspace UAPI socket). */
export interface WireguardControl {
  readonly kind: "kernel" | "userspace";
  /** The device's current state; throws NotFoundError when there is no such WireGuard device. */
  getDevice(name: string): Promise<WgDevice>;
  configureDevice(name: string, config: WgDeviceConfig): Promise<void>;
  close(): void;
}
