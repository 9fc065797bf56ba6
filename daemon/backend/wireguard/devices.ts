// Where WireGuard devices come from: the kernel's module when it has one, else wireguard-go in
// userspace. Both are configured through one WireguardControl, so the reconcile code is the same.
import { openKernelWireguard, WireguardUnavailableError, type NetlinkHandle, type WireguardControl } from "../../../netlink/index.js";
import { BackendError } from "../backend.js";
import { UserspaceDevices, type UserspaceOptions } from "./userspace-device.js";

export interface WireguardDevices {
  readonly control: WireguardControl;
  /** Makes sure the device runs in this namespace; true when it was made now (with no peers yet). */
  ensure(name: string): Promise<boolean>;
}

export type WireguardImplementation = "auto" | "kernel" | "userspace";

/** The kernel's WireGuard devices: links of kind "wireguard", configured over generic netlink. */
class KernelDevices implements WireguardDevices {
  constructor(
    private readonly h: NetlinkHandle,
    readonly control: WireguardControl,
  ) {}

  async ensure(name: string): Promise<boolean> {
    const link = this.h.linkFind(name);
    if (link?.kind === "wireguard") return false;
    if (link) throw new BackendError(`${name} exists but is a ${link.kind ?? "userspace (tun)"} device, not the kernel's WireGuard: remove it, or choose another --wireguard-device`);
    this.h.linkAddWireguard(name);
    return true;
  }
}

/**
 * `auto`: the kernel's where its module answers, else wireguard-go. Asked for by name, an
 * implementation that is not there is an error, not a silent fallback.
 */
export function openWireguardDevices(h: NetlinkHandle, implementation: WireguardImplementation, userspace: UserspaceOptions): WireguardDevices {
  if (implementation !== "userspace") {
    try {
      return new KernelDevices(h, openKernelWireguard());
    } catch (err) {
      if (!(err instanceof WireguardUnavailableError) || implementation === "kernel") throw err;
    }
  }
  return new UserspaceDevices(h, userspace);
}
