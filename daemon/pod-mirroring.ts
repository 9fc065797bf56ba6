// The plugin's pod IPs copied to etcd beside the leases, so that ipamctl sees the whole cluster. One
// run at a time: while etcd is slow to answer, resyncs do not stack more runs behind it.
import type { Etcd3 } from "etcd3";
import type { RecordedPod } from "../ipam/pod-ip-store.js";
import { syncPodRecords } from "../ipam/pod-mirror.js";
import type { Lease } from "../ipam/subnet-manager.js";
import type { Logger } from "./log.js";
import { firstPublicIp } from "./node-lease.js";

export class PodMirror {
  private running = false;

  constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly log: () => Logger,
    private readonly failed: (err: Error) => void,
  ) {}

  async sync(lease: Lease, allocations: RecordedPod[]): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const r = await syncPodRecords(this.client, { prefix: this.prefix, lease, nodeIp: firstPublicIp(lease), allocations });
      if (r.put || r.deleted) this.log().info(r, "mirrored pod IPs to etcd");
    } catch (err) {
      this.failed(err as Error);
      this.log().warn({ err: (err as Error).message }, "could not mirror pod IPs to etcd; retrying at the next resync");
    } finally {
      this.running = false;
    }
  }
}
