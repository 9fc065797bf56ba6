// weftd's life: wait for the network config, hold this node's lease, keep the backend's devices and
// its entries for every other node equal to the leases in etcd (reconcile on every event and on a
// timer), write subnet.env, NAT, mirror pod IPs, serve health. On SIGTERM it leaves the kernel state
// and the lease in place, so traffic flows through an upgrade.
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Server } from "node:http";
import type { Etcd3 } from "etcd3";
import { createEtcdClient, explainTlsFailure } from "../ipam/etcd-client.js";
import { EtcdSubnetManager } from "../ipam/etcd-subnet-manager.js";
import { networkFamilies, parseNetworkConfig, rangeOf, type NetworkConfig } from "../ipam/network-config.js";
import type { RecordedPod } from "../ipam/pod-ip-store.js";
import { readSubnetEnv, writeSubnetEnv } from "../ipam/subnet-env.js";
import { leaseName, MalformedLeaseError, type Lease, type LeaseEvent, type LeaseWatch } from "../ipam/subnet-manager.js";
import { openHandle, type NetlinkHandle } from "../netlink/index.js";
import type { DaemonConfig } from "./config.js";
import { serveHealth } from "./health.js";
import type { Logger } from "./log.js";
import { NodeRules, type NodeAddressing } from "./node-rules.js";
import { podPorts, PodRecords } from "./pod-records.js";
import { EtcdHealth } from "./etcd-health.js";
import { DaemonMetrics } from "./metrics.js";
import { KernelSync } from "./kernel-sync.js";
import { enableForwarding } from "./node-forwarding.js";
import { PodMirror } from "./pod-mirroring.js";
import { createBackend } from "./backend/create.js";
import { describeBackend } from "../ipam/backend-config.js";
import { addressingOf, firstPublicIp, previousLeaseFrom, subnetEnvFor, type UnderlayAddresses } from "./node-lease.js";
import { RemoteLeases } from "./remote-leases.js";
import { findUnderlayLink, underlayAddress } from "./underlay.js";
import { startKubeWatches } from "./kube-api-choice.js";
import type { KubeWatches } from "./kube-watches.js";
import type { PolicyEnforcer } from "./policy-enforcer.js";
import { startPolicy } from "./policy-wiring.js";
import { OwnLeaseGuard } from "./own-lease-guard.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Weftd {
  private readonly metrics = new DaemonMetrics();
  private readonly client: Etcd3;
  private readonly mgr: EtcdSubnetManager;
  private readonly h: NetlinkHandle;
  /** The plugin's IP records on this node (read only: the plugin writes them where its conflist says). */
  private readonly pods: PodRecords;
  private log: Logger;
  private network?: NetworkConfig;
  /** This node's underlay address of each family the network has (the interface goes to the backend). */
  private underlay: UnderlayAddresses = {};
  private lease?: Lease;
  /** The backend (vxlan, wireguard or host-gw) kept equal to the leases: made once the lease is held. */
  private sync?: KernelSync;
  private readonly leases: RemoteLeases;
  /** A renewal is running or its retry is scheduled: at most one chain of them at a time. */
  private renewing = false;
  /** The plugin's pod IPs copied to etcd, for ipamctl's view of the cluster. */
  private readonly mirror: PodMirror;
  /** After etcd lost its data: no removals until this node's lease is back, and a grace period after. */
  private readonly ownLease: OwnLeaseGuard;
  private readonly etcdHealth: EtcdHealth;
  private stopped = false;
  private watch?: LeaseWatch;
  private server?: Server;
  private readonly timers: NodeJS.Timeout[] = [];
  private renewRetry: NodeJS.Timeout | undefined;
  /** NAT and anti-spoofing rules: made once this node has its lease (the rules are written for its subnet). */
  private rules?: NodeRules;
  /** Pods, namespaces and policies from the Kubernetes API, when weftd is given one; and the policy they enforce. */
  private kube?: KubeWatches;
  private policy?: PolicyEnforcer;

  constructor(
    private readonly cfg: DaemonConfig,
    log: Logger,
  ) {
    this.log = log;
    this.client = createEtcdClient({ endpoints: cfg.etcdEndpoints, caFile: cfg.etcdCafile, certFile: cfg.etcdCertfile, keyFile: cfg.etcdKeyfile });
    this.mgr = new EtcdSubnetManager(this.client, { prefix: cfg.etcdPrefix, leaseTtlSeconds: cfg.leaseTtl });
    this.h = openHandle();
    const extra = cfg.dataDir || cfg.cniNetwork ? { dataDir: cfg.dataDir ?? "/var/lib/cni/weft", network: cfg.cniNetwork ?? "weft" } : undefined;
    this.leases = new RemoteLeases(() => this.network, this.metrics, () => this.log);
    this.mirror = new PodMirror(this.client, cfg.etcdPrefix, () => this.log, (err) => this.etcdFailed("mirror pods", err));
    this.pods = new PodRecords({ confDir: cfg.cniConfDir, subnetFile: cfg.subnetFile, ...(extra ? { extra } : {}) }, () => this.log);
    this.ownLease = new OwnLeaseGuard(Math.max(10_000, 3 * cfg.resyncInterval * 1000), () => void this.renew(), () => this.log);
    this.etcdHealth = new EtcdHealth(cfg.etcdEndpoints.join(","), Math.max(5_000, 2 * cfg.resyncInterval * 1000));
  }

  problems(): string[] {
    const p: string[] = [];
    if (!this.lease) p.push("no subnet lease yet");
    if (this.lease && this.lease.expiresAt.getTime() < Date.now()) p.push(`subnet lease ${leaseName(this.lease)} expired at ${this.lease.expiresAt.toISOString()}`);
    p.push(...(this.sync?.problems() ?? []));
    if (!this.sync?.firstReconcileDone()) p.push("first reconcile not done");
    if (this.watch && !this.watch.live()) p.push("lease watch is reconnecting to etcd: other nodes' changes are not seen until it is back");
    const etcd = this.etcdHealth.problem();
    if (etcd) p.push(etcd);
    p.push(...(this.rules?.problems() ?? []), ...this.pods.problems(), ...(this.kube?.problems() ?? []), ...(this.policy?.problems() ?? []));
    return p;
  }

  private etcdAnswered = (): void => this.etcdHealth.answered();

  private etcdFailed(op: string, err: Error): void {
    this.metrics.etcdErrors.inc({ op });
    this.etcdHealth.failed(err);
  }

  private async retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1, delay = 500; ; attempt++, delay = Math.min(delay * 2, 10_000)) {
      try {
        const v = await fn();
        this.etcdAnswered();
        return v;
      } catch (err) {
        if (this.stopped) throw err;
        this.etcdFailed(what, err as Error);
        const tls = explainTlsFailure((err as Error).message);
        this.log.warn({ attempt, retryInMs: delay, err: (err as Error).message, ...(tls ? { tls } : {}) }, `${what} failed; retrying`);
        await sleep(delay);
      }
    }
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    this.server = await serveHealth(cfg.healthzAddr, this, this.metrics);
    const link = findUnderlayLink(this.h, cfg.iface, (msg, fields) => this.log.warn(fields, msg));
    this.log.info({ iface: link.name, etcd: cfg.etcdEndpoints }, "starting");
    // The API's watches run beside etcd's: neither waits for the other.
    this.kube = await startKubeWatches(cfg, this.metrics.registry, this.log);
    const underlay = (): string[] => [this.underlay.ipv4?.ip, this.underlay.ipv6?.ip].filter((ip): ip is string => ip !== undefined);
    this.policy = await startPolicy({ kube: this.kube, cfg, pods: this.pods, underlay, registry: this.metrics.registry, log: () => this.log });

    if (cfg.netConf) {
      const conf = parseNetworkConfig(readFileSync(cfg.netConf, "utf8"));
      const created = await this.retry("seed network config", () => this.mgr.putConfigIfAbsent(conf));
      if (created) this.log.info({ file: cfg.netConf, network: conf.network || conf.ipv6?.network }, "put the network config into etcd");
    }
    const network = await this.retry("read network config", () => this.mgr.getNetworkConfig());
    this.network = network;
    for (const family of networkFamilies(network)) {
      const range = rangeOf(network, family);
      this.underlay[family === 4 ? "ipv4" : "ipv6"] = underlayAddress(this.h, link, family, family === 4 ? cfg.publicIp : cfg.publicIpv6, range?.network ?? "");
    }
    this.log = this.log.child({ node: (this.underlay.ipv4 ?? this.underlay.ipv6)?.ip });
    enableForwarding(networkFamilies(network), this.log);
    this.log.info({ families: networkFamilies(network).map((f) => `IPv${f}`), backend: describeBackend(network.backend), publicIp: this.underlay.ipv4?.ip, publicIpv6: this.underlay.ipv6?.ip, network: network.network || undefined, ipv6Network: network.ipv6?.network }, "network config read");
    const backend = await createBackend(
      { h: this.h, network, underlay: { link, ...this.underlay }, metrics: this.metrics, log: () => this.log },
      { wireguardKeyFile: cfg.wireguardKeyFile, wireguardDevice: cfg.wireguardDevice, wireguardImplementation: cfg.wireguardImplementation, wireguardGo: cfg.wireguardGo, runDir: dirname(cfg.subnetFile) },
    );
    const attrs = await backend.leaseAttrs();
    const previous = this.previousLease(network);
    const lease = await this.retry("acquire lease", () => this.mgr.acquireLease(attrs, previous));
    const reused = leaseName(lease) === (previous.ipv4Subnet ?? previous.ipv6Subnet);
    if (previous.publicIp && previous.publicIp !== firstPublicIp(lease) && reused) this.log.warn({ from: previous.publicIp, to: firstPublicIp(lease), subnet: leaseName(lease) }, "this node's public IP changed: its lease now names the new address; other nodes follow");
    this.lease = lease;
    this.log = this.log.child({ subnet: leaseName(lease) });
    this.metrics.leaseExpiry.set(lease.expiresAt.getTime() / 1000);
    this.log.info({ reused, backend: lease.backendType, ...(lease.ipv4?.vtepMac ? { vtepMac: lease.ipv4.vtepMac } : {}), ...(lease.ipv6 ? { ipv6Subnet: lease.ipv6.subnet, ...(lease.ipv6.vtepMac ? { vtepMacV6: lease.ipv6.vtepMac } : {}) } : {}) }, "lease acquired");

    await backend.ensure(lease);
    this.rules = new NodeRules({ ipMasq: cfg.ipMasq, antiSpoofing: cfg.antiSpoofing, listPods: () => this.pods.list(), listPorts: () => podPorts(this.h), recordsAt: () => this.pods.describe(), ipv6: lease.ipv6 !== undefined, ipv4: lease.ipv4 !== undefined }, this.metrics, this.log);
    // subnet.env first, the filter after: it tells the plugin whether to list pods in the filter. A pod
    // added while the table is being made finds no set, and the table's write lists it right after.
    const mtu = backend.podMtu();
    // Where weftd enforces policy, the plugin holds each new pod until weftd has judged it (cni/policy-hold.ts).
    const hold = this.policy && cfg.policyNewPodHoldMs > 0 ? { policyNewPodHoldMs: cfg.policyNewPodHoldMs } : {};
    writeSubnetEnv(cfg.subnetFile, { ...subnetEnvFor(network, lease, { mtu, ipMasq: cfg.ipMasq, antiSpoofing: cfg.antiSpoofing }), ...hold });
    this.log.info({ file: cfg.subnetFile, antiSpoofing: cfg.antiSpoofing, ...hold }, "wrote subnet.env");
    await this.rules.ensurePodFilter();
    await this.rules.ensureNat(addressingOf(network, lease));

    this.sync = new KernelSync({ backend, own: () => this.lease ?? lease, leases: this.leases, removalsHeld: () => this.removalsHeld(), metrics: this.metrics, log: () => this.log, fullResyncMs: cfg.fullResyncInterval * 1000 });
    this.sync.followKernel();
    this.watch = this.mgr.watchLeases(
      (e) => this.onLeaseEvent(e),
      (err) => this.onWatchError(err),
    );
    this.every(cfg.resyncInterval * 1000, () => this.resync());
    this.every(Math.max(1, cfg.leaseTtl / 2) * 1000, () => void this.renew());
  }

  private every = (ms: number, fn: () => void): number => this.timers.push(setInterval(fn, ms));

  /** What subnet.env says this node had (nothing when it cannot be read). */
  private previousLease(network: NetworkConfig): ReturnType<typeof previousLeaseFrom> {
    try {
      return previousLeaseFrom(readSubnetEnv(this.cfg.subnetFile), network);
    } catch {
      return {};
    }
  }

  private onLeaseEvent(e: LeaseEvent): void {
    this.etcdAnswered();
    this.log.debug({ event: e.type, lease: e.type === "snapshot" ? e.leases.length : leaseName(e.lease) }, "lease event");
    this.sync?.noteEvent();
    const prev = this.leases.apply(e);
    if (e.type === "snapshot") {
      this.checkOwnLease();
      void this.sync?.reconcile();
      return;
    }
    // While etcd's view is not trusted for removals (own-lease-guard.ts), a removal waits for a resync.
    this.checkOwnLease();
    if (e.type === "removed" && this.removalsHeld()) return;
    this.sync?.applyLeaseChange(prev, e.type === "added" ? e.lease : undefined);
  }

  private checkOwnLease(): void {
    this.ownLease.check(!this.lease || this.leases.has(this.lease));
  }

  private removalsHeld = (): boolean => this.ownLease.removalsHeld();

  private addressing = (): NodeAddressing | undefined => (this.network && this.lease ? addressingOf(this.network, this.lease) : undefined);

  private onWatchError(err: Error): void {
    if (err instanceof MalformedLeaseError) {
      this.leases.reportBad(err.message, () => this.log.warn({ err: err.message }, "skipping a malformed lease"));
      return;
    }
    this.etcdFailed("watch", err);
    this.log.warn({ err: err.message }, "lease watch interrupted; the kernel keeps its entries, resynchronising when etcd answers");
  }

  private resync(): void {
    this.sync?.resync();
    void this.policy?.resync();
    // The plugin's IP records, listed once for both their readers (each listing takes the store's lock
    // the plugin's ADD and DEL wait on).
    const pods = this.listPods();
    const addressing = this.addressing();
    if (addressing) this.rules?.resync(addressing, pods);
    if (pods && this.lease) void this.mirror.sync(this.lease, pods);
    void this.client
      .get(this.mgr.configKey)
      .exec()
      .then(
        (res) => {
          this.etcdAnswered();
          this.watch?.noticeRevision(res.header.revision);
        },
        (err: Error) => this.etcdFailed("probe", err),
      );
  }

  private async renew(): Promise<void> {
    if (!this.lease || this.renewing || this.stopped) return;
    this.renewing = true;
    try {
      this.lease = await this.mgr.renewLease(this.lease);
      this.renewing = false;
      this.etcdAnswered();
      this.metrics.leaseExpiry.set(this.lease.expiresAt.getTime() / 1000);
      this.log.debug({ expiresAt: this.lease.expiresAt.toISOString() }, "lease renewed");
    } catch (err) {
      this.etcdFailed("renew", err as Error);
      this.log.error({ err: (err as Error).message, expiresAt: this.lease.expiresAt.toISOString() }, "lease renewal failed; retrying");
      // One pending retry at a time, not kept in `timers`: a long outage must not grow a list.
      this.renewRetry = setTimeout(() => {
        this.renewRetry = undefined;
        this.renewing = false;
        void this.renew();
      }, 2_000);
    }
  }

  /** Undefined when the records cannot be read: the filter's writer then lists them itself and reports why. */
  private listPods(): RecordedPod[] | undefined {
    try {
      return this.pods.list();
    } catch (err) {
      this.log.error({ err: (err as Error).message, records: this.pods.describe() }, "could not list the plugin's IP records; pods are not mirrored to etcd until they can be read");
      return undefined;
    }
  }

  /** Stops without touching the kernel or the lease: pods keep talking while weftd restarts. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.renewRetry);
    this.watch?.close();
    this.server?.close();
    this.policy?.stop();
    await this.kube?.stop();
    await this.mgr.close();
    this.client.close();
    this.sync?.stop();
    this.h.close();
    this.log.info("stopped; kernel state and lease left in place");
  }
}
