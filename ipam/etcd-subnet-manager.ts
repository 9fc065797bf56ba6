// Subnet leases in etcd: `<prefix>/subnets/10.244.1.0-24` (dual-stack: `10.244.1.0-24&fd00:10:244:1::-64`,
// IPv6-only: `0.0.0.0-0&fd00:10:244:1::-64`) → flannel's JSON, attached to an etcd lease.
// Claims are transactions (create only if absent, or only if unchanged since read), so two nodes can
// never hold one subnet; the watch starts at the revision of the snapshot it follows.
import { EtcdLeaseInvalidError, type Etcd3, type Lease as EtcdLease } from "etcd3";
import { SubnetWatch } from "./etcd-lease-watch.js";
import { networkFamilies, NetworkConfigMissingError, parseNetworkConfig, rangeOf, subnetInNetwork, toFlannelConfigJson, type NetworkConfig } from "./network-config.js";
import { decodeLease, encodeLeaseValue, leaseAttrs } from "./lease-value.js";
import {
  leaseKey,
  leaseName,
  leasePart,
  LeaseError,
  parseLeaseKey,
  partFor,
  subnetKey,
  type Family,
  type Lease,
  type LeaseAttrs,
  type LeaseEvent,
  type LeaseWatch,
  type PreviousLease,
  type SubnetManager,
} from "./subnet-manager.js";

export const DEFAULT_PREFIX = "/weft/network";
const CLAIM_ATTEMPTS = 10;

export interface RawLease {
  key: string;
  value: string;
  etcdLeaseId: string;
  modRevision: string;
  /** The revision the key was created at: who claimed first. */
  createRevision: string;
  lease?: Lease;
  error?: Error;
}

export class EtcdSubnetManager implements SubnetManager {
  readonly prefix: string;
  readonly leaseTtlSeconds: number;
  private readonly held = new Map<string, EtcdLease>();

  constructor(
    private readonly client: Etcd3,
    opts: { prefix?: string; leaseTtlSeconds?: number } = {},
  ) {
    this.prefix = (opts.prefix ?? DEFAULT_PREFIX).replace(/\/$/, "");
    this.leaseTtlSeconds = opts.leaseTtlSeconds ?? 86_400;
  }

  get configKey(): string {
    return `${this.prefix}/config`;
  }

  get subnetsPrefix(): string {
    return `${this.prefix}/subnets/`;
  }

  private keyOf(lease: Pick<Lease, "ipv4" | "ipv6">): string {
    return `${this.subnetsPrefix}${leaseKey(lease)}`;
  }

  async getNetworkConfig(): Promise<NetworkConfig> {
    const text = await this.client.get(this.configKey).string();
    if (text === null) throw new NetworkConfigMissingError(`${this.configKey} is not set in etcd: put the network config there (ipamctl config set)`);
    return parseNetworkConfig(text);
  }

  /** Puts the config unless one is there (the first node seeds it; later changes go through ipamctl). */
  async putConfigIfAbsent(cfg: NetworkConfig): Promise<boolean> {
    const res = await this.client.if(this.configKey, "Create", "==", 0).then(this.client.put(this.configKey).value(JSON.stringify(toFlannelConfigJson(cfg)))).commit();
    return res.succeeded;
  }

  /** Every key under subnets/, decoded where possible; malformed ones carry their error. */
  async listRaw(): Promise<{ revision: string; leases: RawLease[] }> {
    const res = await this.client.getAll().prefix(this.subnetsPrefix).exec();
    const leases = res.kvs.map((kv): RawLease => {
      const key = kv.key.toString().slice(this.subnetsPrefix.length);
      const raw: RawLease = { key, value: kv.value.toString(), etcdLeaseId: kv.lease, modRevision: kv.mod_revision, createRevision: kv.create_revision };
      try {
        raw.lease = decodeLease(key, raw.value, new Date(0));
      } catch (err) {
        raw.error = err as Error;
      }
      return raw;
    });
    return { revision: res.header.revision, leases };
  }

  private async expiryOf(etcdLeaseId: string): Promise<Date> {
    if (etcdLeaseId === "0") return new Date(8.64e15); // not attached to a lease: never expires
    const res = await this.client.leaseClient.leaseTimeToLive({ ID: etcdLeaseId });
    return new Date(Date.now() + Math.max(0, Number(res.TTL)) * 1000);
  }

  async listLeases(): Promise<Lease[]> {
    const { leases } = await this.listRaw();
    const good = leases.filter((l): l is RawLease & { lease: Lease } => l.lease !== undefined);
    return Promise.all(good.map(async (l) => ({ ...l.lease, expiresAt: await this.expiryOf(l.etcdLeaseId) })));
  }

  private async grant(): Promise<EtcdLease> {
    const lease = this.client.lease(this.leaseTtlSeconds, { autoKeepAlive: false });
    await lease.grant();
    return lease;
  }

  private remember(subnet: string, lease: EtcdLease): void {
    this.held.get(subnet)?.release();
    this.held.set(subnet, lease);
  }

  /**
   * Claims a subnet of each of the network's families. This node's lease is the one whose address of
   * the network's first family is this node's; else, when this node's public IP changed, the lease under
   * its previous subnet if it still names its previous IP (its own, left behind: updated in place, so
   * the node keeps its subnets and its pods keep their addresses). Each family's subnet is then the one
   * that lease holds, else the previous one if free, else any free one (partFor). A lease of this node
   * whose key changed with that (the network became dual-stack) is replaced in the same transaction.
   */
  async acquireLease(attrs: LeaseAttrs, previous: PreviousLease = {}): Promise<Lease> {
    const cfg = await this.getNetworkConfig();
    const first = networkFamilies(cfg)[0] ?? 4;
    const ownAddress = leasePart(attrs, first)?.publicIp;
    const previousOf = (f: Family): string | undefined => (f === 4 ? previous.ipv4Subnet : previous.ipv6Subnet);
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
      const { leases } = await this.listRaw();
      const taken = (f: Family): Set<string> => new Set(leases.flatMap((l) => (l.lease ? leasePart(l.lease, f)?.subnet : safeKeySubnet(l.key, f)) ?? []));
      const ownPart = (l: RawLease) => (l.lease ? leasePart(l.lease, first) : undefined);
      const byAddress = leases.find((l) => ownPart(l)?.publicIp === ownAddress && subnetInNetwork(rangeOf(cfg, first) ?? cfg, ownPart(l)?.subnet ?? ""));
      const ipChanged = previous.publicIp && previous.publicIp !== ownAddress ? leases.find((l) => ownPart(l)?.subnet === previousOf(first) && ownPart(l)?.publicIp === previous.publicIp) : undefined;
      const mine = byAddress ?? ipChanged;
      const part = (f: Family) => partFor(cfg, f, attrs, taken(f), mine?.lease && leasePart(mine.lease, f)?.subnet, previousOf(f));
      const ipv4 = part(4);
      const ipv6 = part(6);
      const lease: Lease = { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}), backendType: attrs.backendType ?? "vxlan", vni: attrs.vni, expiresAt: new Date(Date.now() + this.leaseTtlSeconds * 1000) };
      const key = this.keyOf(lease);
      const etcdLease = await this.grant();
      const put = this.client.put(key).value(encodeLeaseValue(leaseAttrs(lease))).lease(await etcdLease.grant());
      const oldKey = mine ? `${this.subnetsPrefix}${mine.key}` : undefined;
      const txn = !mine
        ? this.client.if(key, "Create", "==", 0).then(put)
        : oldKey === key
          ? this.client.if(key, "Mod", "==", mine.modRevision).then(put)
          : this.client.if(oldKey as string, "Mod", "==", mine.modRevision).and(key, "Create", "==", 0).then(this.client.delete().key(oldKey as string), put);
      const res = await txn.commit();
      if (res.succeeded && (await this.keptAgainstEarlierClaims(key, lease, res.header.revision))) {
        this.remember(leaseName(lease), etcdLease);
        return lease;
      }
      await etcdLease.revoke(); // lost the race for this subnet: try again with a fresh read
    }
    throw new LeaseError(`could not claim a subnet after ${CLAIM_ATTEMPTS} attempts: other nodes kept taking the same subnets; will retry`);
  }

  /**
   * A dual-stack key names two subnets, so two nodes can create different keys sharing one subnet (the
   * same IPv6 subnet beside different IPv4 ones, or the reverse). After a claim, the earlier key by
   * create revision keeps a shared subnet: a later one is withdrawn (only if still as written) and the
   * claim tried again. Single-family keys are unique by their one subnet: nothing to check.
   */
  private async keptAgainstEarlierClaims(key: string, lease: Lease, revision: string): Promise<boolean> {
    if (!lease.ipv4 || !lease.ipv6) return true;
    const ours = (f: Family) => leasePart(lease, f)?.subnet;
    const { leases } = await this.listRaw();
    const earlier = leases.find((l) => `${this.subnetsPrefix}${l.key}` !== key && BigInt(l.createRevision) < BigInt(revision) && ([4, 6] as const).some((f) => ours(f) !== undefined && (l.lease ? leasePart(l.lease, f)?.subnet : safeKeySubnet(l.key, f)) === ours(f)));
    if (!earlier) return true;
    await this.client.if(key, "Mod", "==", revision).then(this.client.delete().key(key)).commit();
    return false;
  }

  async renewLease(lease: Lease): Promise<Lease> {
    const key = this.keyOf(lease);
    const held = this.held.get(leaseName(lease));
    if (held) {
      try {
        const res = await held.keepaliveOnce();
        const current = await this.client.get(key).string();
        if (Number(res.TTL) > 0 && current !== null) return { ...lease, expiresAt: new Date(Date.now() + Number(res.TTL) * 1000) };
      } catch (err) {
        if (!(err instanceof EtcdLeaseInvalidError)) throw err;
      }
    }
    // The etcd lease or the key is gone (expired while we were cut off, or etcd lost its data):
    // claim the same subnet again, unless another node holds it now.
    const value = encodeLeaseValue(leaseAttrs(lease));
    const fresh = await this.grant();
    const id = await fresh.grant();
    const res = await this.client
      .if(key, "Create", "==", 0)
      .then(this.client.put(key).value(value).lease(id))
      .else(this.client.get(key))
      .commit();
    if (!res.succeeded) {
      const existing = res.responses[0]?.response_range?.kvs[0];
      if (existing?.value.toString() !== value) {
        await fresh.revoke();
        throw new LeaseError(`subnet ${leaseName(lease)} was taken by another node while this node's lease was gone; restart weftd to acquire a new one`);
      }
      await this.client.if(key, "Mod", "==", existing.mod_revision).then(this.client.put(key).value(value).lease(id)).commit();
    }
    this.remember(leaseName(lease), fresh);
    return { ...lease, expiresAt: new Date(Date.now() + this.leaseTtlSeconds * 1000) };
  }

  /** Deletes the lease that has `subnet` (of either family). */
  async releaseLease(subnet: string): Promise<void> {
    const { leases } = await this.listRaw();
    const found = leases.find((l) => ([4, 6] as const).some((f) => (l.lease ? leasePart(l.lease, f)?.subnet : safeKeySubnet(l.key, f)) === subnet));
    const name = found?.lease ? leaseName(found.lease) : subnet;
    const key = found?.key ?? (subnet.includes(":") ? subnetKey(undefined, subnet) : subnetKey(subnet));
    await this.client.delete().key(`${this.subnetsPrefix}${key}`).exec();
    const held = this.held.get(name);
    this.held.delete(name);
    if (held) await held.revoke().catch(() => undefined);
  }

  watchLeases(onEvent: (e: LeaseEvent) => void, onError: (err: Error) => void = () => undefined): LeaseWatch {
    return new SubnetWatch(this, this.client, onEvent, onError);
  }

  async close(): Promise<void> {
    for (const l of this.held.values()) l.release();
    this.held.clear();
  }
}

/** The subnet of `family` a key names, or undefined (a malformed key names none). */
const safeKeySubnet = (key: string, family: Family): string | undefined => {
  try {
    const k = parseLeaseKey(key);
    return family === 4 ? k.ipv4Subnet : k.ipv6Subnet;
  } catch {
    return family === 4 ? key : undefined;
  }
};
