// The backend the network config names, made for this node: the one place that knows them all.
import type { Backend, BackendContext } from "./backend.js";
import { HostGwNetwork } from "./host-gw/host-gw-network.js";
import { VxlanNetwork } from "./vxlan/vxlan-network.js";
import { openWireguardDevices, type WireguardImplementation } from "./wireguard/devices.js";
import { WireguardNetwork } from "./wireguard/wireguard-network.js";

/** The settings of the backends that take some from weftd's flags rather than the network config. */
export interface BackendFlags {
  wireguardKeyFile: string;
  wireguardDevice: string;
  wireguardImplementation: WireguardImplementation;
  wireguardGo: string;
  /** Where wireguard-go's log and pid files go. */
  runDir: string;
}

export async function createBackend(ctx: BackendContext, flags: BackendFlags): Promise<Backend> {
  const b = ctx.network.backend;
  if (b.type === "vxlan") return new VxlanNetwork(ctx, b);
  if (b.type === "host-gw") return new HostGwNetwork(ctx);
  const devices = openWireguardDevices(ctx.h, flags.wireguardImplementation, { binary: flags.wireguardGo, logDir: flags.runDir });
  return new WireguardNetwork(ctx, b, { keyFile: flags.wireguardKeyFile, deviceName: flags.wireguardDevice }, devices);
}
