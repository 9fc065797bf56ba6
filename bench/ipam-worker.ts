// Benchmark body run by bench/ipam.mjs (bundled on the fly): N simulated nodes acquiring leases against
// one etcd, then pod IP allocate + release in-process.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEtcdClient } from "../ipam/etcd-client.js";
import { EtcdSubnetManager } from "../ipam/etcd-subnet-manager.js";
import { PodIpStore } from "../ipam/pod-ip-store.js";

const [endpoint, nodesText, opsText] = process.argv.slice(2);
const nodes = Number(nodesText ?? 1000);
const ops = Number(opsText ?? 2000);
const client = createEtcdClient({ endpoints: [endpoint ?? ""] });
await client.put("/bench/network/config").value(JSON.stringify({ Network: "10.0.0.0/8", SubnetLen: 24 }));
const acquire: number[] = [];
for (let i = 0; i < nodes; i++) {
  const mgr = new EtcdSubnetManager(client, { prefix: "/bench/network" });
  const t = process.hrtime.bigint();
  await mgr.acquireLease({ ipv4: { publicIp: `172.16.${i >> 8}.${i & 255}`, vtepMac: "02:00:00:00:00:01" }, vni: 1 });
  acquire.push(Number(process.hrtime.bigint() - t) / 1e6);
}
client.close();

const dir = mkdtempSync(join(tmpdir(), "weft-bench-ipam-"));
const store = new PodIpStore({ dataDir: dir, network: "bench" });
const alloc: number[] = [];
for (let i = 0; i < ops; i++) {
  const t = process.hrtime.bigint();
  store.allocate({ containerId: `c${i}`, ifname: "eth0", subnet: "10.244.0.0/16", gateway: "10.244.0.1" });
  store.release({ containerId: `c${i}`, ifname: "eth0" });
  alloc.push(Number(process.hrtime.bigint() - t) / 1e6);
}
rmSync(dir, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ acquire, alloc }));
