// Mirrors a node's pod allocations to etcd (`<prefix>/pods/<subnet key>/<ip>`) so ipamctl sees the
// whole cluster. Runs off the CNI hot path (weftd's loop); writes only what changed. A dual-stack
// pod's record is keyed by its IPv4 address, as before, and carries its IPv6 address in `ipv6`
// (a record written before that field existed still reads: a pod without an IPv6 address).
import type { Etcd3 } from "etcd3";
import type { RecordedPod } from "./pod-ip-store.js";
import { subnetKey } from "./subnet-manager.js";

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
  if (a.ipv6) r.ipv6 = a.ipv6;
  return r;
}

export async function syncPodRecords(
  client: Etcd3,
  opts: { prefix: string; subnet: string; nodeIp: string; allocations: RecordedPod[] },
): Promise<{ put: number; deleted: number }> {
  const dir = `${opts.prefix.replace(/\/$/, "")}/pods/${subnetKey(opts.subnet)}/`;
  const existing = await client.getAll().prefix(dir).strings();
  const want = new Map(opts.allocations.map((a) => [`${dir}${a.ip}`, JSON.stringify(podRecord(a, opts.nodeIp))]));
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
