// ipamctl's connection to etcd, loaded only once a command needs it: etcd3 and gRPC take ~200 ms to
// load, which --help, --version and usage errors do not need.
import { BrokenCircuitError } from "cockatiel";
import { ClientRuntimeError, EtcdError, GRPCGenericError, type Etcd3 } from "etcd3";
import { createEtcdClient, explainTlsFailure } from "../ipam/etcd-client.js";
import { EtcdSubnetManager } from "../ipam/etcd-subnet-manager.js";
import { NetworkConfigError } from "../ipam/network-config.js";
import { parsePodKey, type ClusterView } from "./cluster-view.js";

export interface EtcdSession {
  client: Etcd3;
  mgr: EtcdSubnetManager;
  endpoints: string[];
  timeoutS: number;
}

export function openSession(opts: { endpoints: string[]; prefix: string; caFile?: string; certFile?: string; keyFile?: string; timeoutS: number }): EtcdSession {
  const client = createEtcdClient({ endpoints: opts.endpoints, caFile: opts.caFile, certFile: opts.certFile, keyFile: opts.keyFile, timeoutMs: opts.timeoutS * 1000 });
  return { client, mgr: new EtcdSubnetManager(client, { prefix: opts.prefix }), endpoints: opts.endpoints, timeoutS: opts.timeoutS };
}

/** Everything the commands show: the config (if any), the leases with their TTLs, the pod records. */
export async function loadView(s: EtcdSession): Promise<ClusterView> {
  let config;
  try {
    config = await s.mgr.getNetworkConfig();
  } catch (err) {
    if (!(err instanceof NetworkConfigError)) throw err;
  }
  const { leases } = await s.mgr.listRaw();
  const withTtl = await Promise.all(
    leases.map(async (l) => {
      if (l.etcdLeaseId === "0") return l;
      const r = await s.client.leaseClient.leaseTimeToLive({ ID: l.etcdLeaseId });
      return { ...l, ttl: { remaining: Number(r.TTL), granted: Number(r.grantedTTL) } };
    }),
  );
  const podPrefix = `${s.mgr.prefix}/pods/`;
  const raw = await s.client.getAll().prefix(podPrefix).strings();
  const pods = [];
  const badPods = [];
  for (const [key, value] of Object.entries(raw)) {
    try {
      pods.push(parsePodKey(key.slice(podPrefix.length), value));
    } catch (err) {
      badPods.push({ key, error: (err as Error).message });
    }
  }
  return { ...(config ? { config } : {}), leases: withTtl, pods, badPods };
}

/** What to tell the operator when a request to etcd failed; undefined when `err` is not etcd's. */
export function describeEtcdFailure(err: Error, s: EtcdSession): string | undefined {
  if (!(err instanceof GRPCGenericError || err instanceof EtcdError || err instanceof ClientRuntimeError || err instanceof BrokenCircuitError)) return undefined;
  const tls = explainTlsFailure(err.message);
  const where = s.endpoints.join(",");
  return tls ? `etcd at ${where}: ${tls}` : `etcd at ${where} did not answer within ${s.timeoutS} s: ${err.message.split("\n")[0]}`;
}
