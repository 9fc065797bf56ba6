// Mirrors a node's pod allocations to etcd (`<prefix>/pods/<subnet key>/<ip>`) so ipamctl sees the
// whole cluster. Runs off the CNI hot path (weftd's loop); writes only what changed. A pod's record is
// keyed by its first address under its node's subnet of that family: an IPv4 pod's (and a dual-stack
// one's, which carries its IPv6 address in `ipv6`) under "10.244.1.0-24/10.244.1.5", an IPv6-only
// one's under "0.0.0.0-0&fd00:10:244:1::-64/fd00:10:244:1::5". A record written before `ipv6`
// existed still reads: a pod without an IPv6 address.
import type { Etcd3 } from "etcd3";
import { firstAddress, type RecordedPod } from "./pod-ip-store.js";
import { subnetKey, type Lease } from "./subnet-manager.js";

export interface PodRecord {
  containerId: string;
  ifname: string;
  podName?: string;
  podNamespace?: string;
  /** The pod's IPv6 address on a dual-stack node. */
  ipv6?: string;
  node: string;
  allocatedAt: string;
}

export function podRecord(a: RecordedPod, nodeIp: string): PodRecord {
  const r: PodRecord = { containerId: a.containerId, ifname: a.ifname, node: nodeIp, allocatedAt: a.allocatedAt };
  if (a.podName) r.podName = a.podName;
  if (a.podNamespace) r.podNamespace = a.podNamespace;
  if (a.ipv4 && a.ipv6) r.ipv6 = a.ipv6;
  return r;
}

/** The node's dir of pod records: its IPv4 subnet's key, or an IPv6-only lease's key. */
export const podRecordsKey = (lease: Pick<Lease, "ipv4" | "ipv6">): string => (lease.ipv4 ? subnetKey(lease.ipv4.subnet) : subnetKey(undefined, lease.ipv6?.subnet));

export async function syncPodRecords(
  client: Etcd3,
  opts: { prefix: string; lease: Pick<Lease, "ipv4" | "ipv6">; nodeIp: string; allocations: RecordedPod[] },
): Promise<{ put: number; deleted: number }> {
  const dir = `${opts.prefix.replace(/\/$/, "")}/pods/${podRecordsKey(opts.lease)}/`;
  const existing = await client.getAll().prefix(dir).strings();
  const want = new Map(opts.allocations.filter(firstAddress).map((a) => [`${dir}${firstAddress(a)}`, JSON.stringify(podRecord(a, opts.nodeIp))]));
  let put = 0;
  let deleted = 0;
  for (const [key, value] of want) {
    if (existing[key] === value) continue;
    await client.put(key).value(value);
    put++;
  }
  for (const key of Object.keys(existing)) {
    if (want.has(key)) continue;
    await client.delete().key(key);
    deleted++;
  }
  return { put, deleted };
}
