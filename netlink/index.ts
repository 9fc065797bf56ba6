// The netlink layer's public surface: handles, types, typed errors, sysctls, WireGuard control.
export type { NetlinkHandle } from "./api.js";
export { openHandle } from "./handle.js";
export * from "./types.js";
export { BusyError, ExistsError, InvalidError, NetlinkError, NetnsError, NotFoundError, PermissionError, WireguardUnavailableError } from "./errors.js";
export { readSysctl, setLinkSysctl, setSysctl } from "./sysctl.js";
export { ExecCacheError } from "./exec-cache.js";
export { inNetns } from "./netns.js";
export { nftCounterPackets, nftGeneration, openNftSets, type NftCounterRef, type NftElementsChange, type NftSetHandle, type NftSetRef } from "./nft-sets.js";
export { concatKey, KeyFieldError, type KeyField } from "./codec/nftables.js";
export type { WgDevice, WgDeviceConfig, WgPeer, WgPeerConfig, WireguardControl } from "./wireguard-types.js";
export { openKernelWireguard, type KernelWireguardOptions } from "./wireguard-kernel.js";
export { WireguardConfigError } from "./codec/wireguard-values.js";
export { lookupGenericFamily } from "./genetlink.js";
export type { GenlFamily, GenlMulticastGroup } from "./codec/genetlink.js";
export { NetlinkMonitor, type KernelChange, type MonitorGroup } from "./monitor.js";
export { NflogReader, type NflogDrain, type NflogOpenOptions, type NflogPacket } from "./nflog.js";
export { parsePacketHeaders, type PacketHeaders, type TransportProtocol } from "./codec/packet-headers.js";
