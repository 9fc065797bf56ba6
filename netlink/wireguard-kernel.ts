// Kernel WireGuard devices driven over generic netlink (family "wireguard"), behind the same
// WireguardControl interface as the userspace (wireguard-go UAPI) implementation.
import { EINTR, NLM_F } from "./codec/constants.js";
import type { GenlFamily } from "./codec/genetlink.js";
import { buildGetDevice, parseDeviceMessages, WG_GENL_NAME } from "./codec/wireguard.js";
import { buildSetDevice } from "./codec/wireguard-set.js";
import { NetlinkError, NotFoundError, WireguardUnavailableError } from "./errors.js";
import { openGenericSocket, queryGenericFamily } from "./genetlink.js";
import type { NetlinkSocket } from "./socket.js";
import type { WgDevice, WgDeviceConfig, WireguardControl } from "./wireguard-types.js";

const ENOENT = 2;
const EOPNOTSUPP = 95;
const DUMP_ATTEMPTS = 3;

export interface KernelWireguardOptions {
  /** The namespace whose devices to drive (e.g. /var/run/netns/X); the caller's own when absent. */
  netnsPath?: string;
}

/** What control needs of a generic netlink socket (tests give a scripted one). */
export type GenericNetlinkTransport = Pick<NetlinkSocket, "request" | "dump" | "close">;

class KernelWireguard implements WireguardControl {
  readonly kind = "kernel";

  constructor(
    private readonly sock: GenericNetlinkTransport,
    private readonly family: GenlFamily,
    private readonly netnsPath: string | undefined,
  ) {}

  private describe(name: string): string {
    return `wireguard device "${name}"${this.netnsPath ? ` in ${this.netnsPath}` : ""}`;
  }

  getDevice(name: string): Promise<WgDevice> {
    return this.run("read", name, () => {
      // A change to the device while its peers are dumped marks the messages DUMP_INTR: the view is torn; read again.
      for (let attempt = 1; ; attempt++) {
        const replies = this.sock.dump(buildGetDevice(this.family.id, name), "read", this.describe(name));
        if (!replies.some((m) => m.flags & NLM_F.DUMP_INTR)) {
          return parseDeviceMessages(replies.filter((m) => m.type === this.family.id).map((m) => m.payload));
        }
        if (attempt === DUMP_ATTEMPTS) throw new NetlinkError("read", `${this.describe(name)} (changed during each of ${DUMP_ATTEMPTS} reads; retry)`, EINTR);
      }
    });
  }

  /**
   * Applies `config`; a large one goes as several messages, each applied by the kernel as it comes.
   * A failure part-way leaves the earlier messages applied: sending the same configuration again
   * completes it (every message is idempotent, and REPLACE_PEERS travels in the first).
   */
  configureDevice(name: string, config: WgDeviceConfig): Promise<void> {
    return this.run("configure", name, () => {
      for (const req of buildSetDevice(this.family.id, name, config)) this.sock.request(req, "configure", this.describe(name));
    });
  }

  close(): void {
    this.sock.close();
  }

  /** Runs one operation; a link that exists but is not WireGuard counts as "no such WireGuard device". */
  private run<T>(op: string, name: string, body: () => T): Promise<T> {
    try {
      return Promise.resolve(body());
    } catch (err) {
      if (err instanceof NetlinkError && err.errno === EOPNOTSUPP) {
        return Promise.reject(new NotFoundError(op, this.describe(name), err.errno, err.kernelMessage, "the link exists but is not a WireGuard device"));
      }
      return Promise.reject(err as Error);
    }
  }
}

/** Control over an open socket whose family is already resolved; `openKernelWireguard` is the way in. */
export function wireguardControlOver(sock: GenericNetlinkTransport, family: GenlFamily, netnsPath?: string): WireguardControl {
  return new KernelWireguard(sock, family, netnsPath);
}

/**
 * Opens kernel WireGuard control in the caller's namespace or `options.netnsPath`, resolving the
 * family once. Throws WireguardUnavailableError when the kernel has no WireGuard module.
 */
export function openKernelWireguard(options: KernelWireguardOptions = {}): WireguardControl {
  const { netnsPath } = options;
  const sock = openGenericSocket(netnsPath);
  try {
    const family = queryGenericFamily(sock, WG_GENL_NAME, netnsPath);
    return wireguardControlOver(sock, family, netnsPath);
  } catch (err) {
    sock.close();
    if (err instanceof NotFoundError && err.errno === ENOENT) throw new WireguardUnavailableError(netnsPath);
    throw err;
  }
}
