// Mirrors a node's pod allocations to etcd (`<prefix>/pods/<subnet key>/<ip>`) so ipamctl sees the
// whole cluster. Runs off the CNI hot path (weftd's loop); writes only what changed.
import type { Etcd3 } from "etcd3";
import type { PodAllocation } from "./pod-ip-store.js";
import { subnetKey } from "./subnet-manager.js";

export interface PodRecord {
  containerId: string;
  ifname: string;
  podName?: string;
  podNamespace?: string;
  node: string;
  allocatedAt: string;
}

export function podRecord(a: PodAllocation, nodeIp: string): PodRecord {
  const r: PodRecord = { containerId: a.containerId, ifname: a.ifname, node: nodeIp, allocatedAt: a.allocatedAt };
  if (a.podName) r.podName = a.podName;
  if (a.podNamespace) r.podNamespace = a.podNamespace;
  return r;
}

export async function syncPodRecords(
  client: Etcd3,
  opts: { prefix: string; subnet: string; nodeIp: string; allocations: PodAllocation[] },
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
