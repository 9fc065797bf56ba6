// The wireguard backend (flannel's, in its config and lease format): a WireGuard device per family
// (separate mode) or one for both, the node's key published in its lease, a peer per other node, and
// a route for the cluster network of each family on the device. A restarted weftd reconciles the
// device it finds instead of recreating it (flannel recreates it, dropping every peer).
import type { WireguardBackendConfig } from "../../../ipam/backend-config.js";
import { networkFamilies, rangeOf } from "../../../ipam/network-config.js";
import { leasePart, type Family, type Lease, type LeaseAttrs } from "../../../ipam/subnet-manager.js";
import { ExistsError, type KernelChange } from "../../../netlink/index.js";
import type { WgDevice } from "../../../netlink/wireguard-types.js";
import type { Backend, BackendContext } from "../backend.js";
import { RTPROT_WEFT, vtepAddress } from "../vxlan/overlay-plan.js";
import type { WireguardDevices } from "./devices.js";
import { loadOrCreateKey, type WireguardKeyPair } from "./wireguard-key.js";
import { desiredPeers, peersByKey, planPeers, type PeerContext } from "./wireguard-plan.js";

/** Bytes WireGuard adds: outer IP header (IPv6's 40 counted), UDP 8, type 4, key index 4, nonce 8, tag 16 (flannel's 80). */
export const WIREGUARD_OVERHEAD = 80;

export interface WireguardOptions {
  keyFile: string;
  /** The IPv4 (or only) device's name; separate mode's IPv6 device is `<name>-v6`. */
  deviceName: string;
}

interface DeviceSpec {
  name: string;
  families: Family[];
  listenPort: number;
}

export class WireguardNetwork implements Backend {
  readonly type = "wireguard" as const;
  private key?: WireguardKeyPair;
  private readonly specs: DeviceSpec[];
  private readonly indexes = new Map<string, number>();

  constructor(
    private readonly ctx: BackendContext,
    private readonly config: WireguardBackendConfig,
    private readonly opts: WireguardOptions,
    private readonly devices: WireguardDevices,
  ) {
    const families = networkFamilies(ctx.network);
    this.specs =
      config.mode === "separate"
        ? families.map((f) => ({ name: f === 4 ? opts.deviceName : `${opts.deviceName}-v6`, families: [f], listenPort: f === 4 ? config.listenPort : config.listenPortV6 }))
        : [{ name: opts.deviceName, families, listenPort: config.listenPort }];
  }

  private portOf(f: Family): number {
    return this.specs.find((d) => d.families.includes(f))?.listenPort ?? this.config.listenPort;
  }

  async leaseAttrs(): Promise<LeaseAttrs> {
    const key = loadOrCreateKey(this.opts.keyFile);
    this.key = key;
    this.ctx.log().info({ keyFile: this.opts.keyFile, publicKey: key.publicKey, created: key.created, implementation: this.devices.control.kind }, key.created ? "made this node's WireGuard key" : "read this node's WireGuard key");
    // The devices before the lease: a node that cannot have WireGuard refuses without claiming a subnet.
    await this.ensureDevices();
    const attrs: LeaseAttrs = { backendType: "wireguard", vni: 0 };
    for (const f of networkFamilies(this.ctx.network)) {
      const ip = leasePart(this.ctx.underlay, f)?.ip;
      if (ip) attrs[f === 4 ? "ipv4" : "ipv6"] = { publicIp: ip, wireguard: { publicKey: key.publicKey, port: this.portOf(f) } };
    }
    return attrs;
  }

  podMtu(): number {
    return (this.config.mtu ?? this.ctx.underlay.link.mtu) - WIREGUARD_OVERHEAD;
  }

  private peerContext(d: DeviceSpec): PeerContext {
    const psk = this.config.psk;
    return { families: d.families, mode: this.config.mode, listenPort: { 4: this.portOf(4), 6: this.portOf(6) }, keepalive: this.config.persistentKeepaliveInterval, own: { ipv4: this.ctx.underlay.ipv4?.ip, ipv6: this.ctx.underlay.ipv6?.ip }, ...(psk ? { psk } : {}) };
  }

  /** Each device exists and holds this node's key and port; true when one was made now. */
  private async ensureDevices(): Promise<boolean> {
    const key = this.key;
    if (!key) throw new Error("WireguardNetwork: devices before the key");
    let created = false;
    for (const d of this.specs) {
      if (await this.devices.ensure(d.name)) {
        created = true;
        this.ctx.log().info({ device: d.name, implementation: this.devices.control.kind, listenPort: d.listenPort }, "created WireGuard device");
      }
      const dev = await this.devices.control.getDevice(d.name);
      if (dev.privateKey !== key.privateKey || dev.listenPort !== d.listenPort) {
        await this.devices.control.configureDevice(d.name, { privateKey: key.privateKey, listenPort: d.listenPort });
      }
    }
    return created;
  }

  /** The devices, and on each its MTU, its addresses and the cluster routes, up. */
  async ensure(own: Lease): Promise<boolean> {
    const created = await this.ensureDevices();
    for (const d of this.specs) this.ensureLink(d, own);
    return created;
  }

  private ensureLink(d: DeviceSpec, own: Lease): void {
    const { h } = this.ctx;
    const link = h.linkGet(d.name);
    this.indexes.set(d.name, link.index);
    const mtu = this.podMtu();
    if (link.mtu !== mtu) h.linkSetMtu(link.index, mtu);
    for (const f of d.families) {
      const part = leasePart(own, f);
      const range = rangeOf(this.ctx.network, f);
      if (!part || !range) continue;
      // The subnet's network address as the device's own (flannel's choice): what the node sends from to remote pods.
      const address = `${vtepAddress(part.subnet)}/${f === 6 ? 128 : 32}`;
      const have = h.addrList(link.index, f).filter((a) => a.scope !== "link").map((a) => `${a.address}/${a.prefixLen}`);
      for (const stale of have.filter((a) => a !== address)) h.addrDel(link.index, stale);
      if (!have.includes(address)) {
        try {
          h.addrAdd(link.index, address);
        } catch (err) {
          if (!(err instanceof ExistsError)) throw err;
        }
      }
    }
    if (!link.up) h.linkSetUp(link.index);
    for (const f of d.families) {
      const range = rangeOf(this.ctx.network, f);
      if (range) h.routeReplace({ dst: range.network, oif: link.index, scope: "link", protocol: RTPROT_WEFT });
    }
  }

  async reconcile(leases: Lease[], own: Lease, removalsHeld: boolean): Promise<void> {
    for (const d of this.specs) {
      const dev = await this.devices.control.getDevice(d.name);
      const desired = desiredPeers(leases, own, this.peerContext(d));
      await this.apply(d, planPeers(desired, peersByKey(dev.peers), removalsHeld), dev);
      // The handshakes the device had at the read (a session lives 180 s without traffic, REJECT_AFTER_TIME).
      const now = Date.now() / 1000;
      this.ctx.metrics.wireguardPeers.set({ device: d.name }, desired.size);
      this.ctx.metrics.wireguardHandshaken.set({ device: d.name }, dev.peers.filter((p) => desired.has(p.publicKey) && (p.lastHandshakeSeconds ?? 0) > now - 180).length);
    }
  }

  async applyChange(prev: Lease | undefined, next: Lease | undefined, own: Lease): Promise<void> {
    for (const d of this.specs) {
      const ctx = this.peerContext(d);
      await this.apply(d, planPeers(desiredPeers(next ? [next] : [], own, ctx), desiredPeers(prev ? [prev] : [], own, ctx)));
    }
  }

  private async apply(d: DeviceSpec, changes: ReturnType<typeof planPeers>, before?: WgDevice): Promise<void> {
    if (!changes.length) return;
    await this.devices.control.configureDevice(d.name, { peers: changes });
    const removed = changes.filter((c) => c.remove).length;
    if (removed) this.ctx.metrics.kernelChanges.inc({ kind: "wireguard-peer", op: "del" }, removed);
    if (changes.length > removed) this.ctx.metrics.kernelChanges.inc({ kind: "wireguard-peer", op: "add" }, changes.length - removed);
    this.ctx.log().info({ device: d.name, peersSet: changes.filter((c) => !c.remove).map((c) => ({ key: c.publicKey, endpoint: c.endpoint, allowedIps: c.allowedIps })), peersRemoved: changes.filter((c) => c.remove).map((c) => c.publicKey), peersBefore: before?.peers.length }, "WireGuard peers reconciled");
  }

  /**
   * Its devices and cluster routes, from the kernel's notifications: a device deleted, down or with
   * another MTU, or a cluster route removed, asks for a full pass (which puts them back). Peers are
   * not netlink objects: their drift is repaired by the periodic full pass.
   */
  async repair(changes: KernelChange[]): Promise<"done" | "full"> {
    const mine = new Set(this.indexes.values());
    for (const c of changes) {
      if (c.kind === "overflow") return "full";
      if (c.kind === "link" && mine.has(c.link.index) && (c.op === "del" || !c.link.up || c.link.mtu !== this.podMtu())) return "full";
      if (c.kind === "route" && c.op === "del" && c.route.oif !== undefined && mine.has(c.route.oif) && c.route.protocol === RTPROT_WEFT) return "full";
    }
    return "done";
  }

  problems(): string[] {
    return this.specs.filter((d) => this.indexes.has(d.name) && !this.ctx.h.linkFind(d.name)).map((d) => `WireGuard device ${d.name} is missing (will be recreated at the next resync)`);
  }

  close(): void {
    this.devices.control.close();
  }
}
