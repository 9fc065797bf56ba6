// The lab's etcd: one member, or a cluster of N (`weft-lab up --etcd-members 3`), each member in its own
// namespace on the underlay (192.168.56.2, .3, .4 …; fd00:56::2, ::3 … in an IPv6-only lab). weftd and ipamctl are given every member's
// client URL. Members can be stopped and started again (`weft-lab etcd stop|start`) to inject faults.
import { join } from "node:path";
import { primaryPlan, urlHost } from "./addressing.js";
import { inNs, pidAlive, spawnInNetns, waitFor } from "./sh.js";
import { saveState, type EtcdMember, type LabState } from "./state.js";

export function etcdMembers(state: LabState, count: number): EtcdMember[] {
  return Array.from({ length: count }, (_, i) => ({
    name: count === 1 ? "lab" : `etcd${i + 1}`,
    netns: `${state.prefix}etcd${i === 0 ? "" : i + 1}`,
    ip: primaryPlan(state).etcd(i),
    dataDir: join(state.dir, i === 0 ? "etcd" : `etcd${i + 1}`),
    pid: 0,
  }));
}

export const clientUrl = (m: EtcdMember): string => `http://${urlHost(m.ip)}:2379`;
const peerUrl = (m: EtcdMember): string => `http://${urlHost(m.ip)}:2380`;

/**
 * Starts one member. The initial-cluster flags only matter for an empty data dir: a member that kept
 * its data rejoins the cluster it belongs to; when every data dir was wiped they form a new one.
 */
export function startEtcdMember(state: LabState, m: EtcdMember): void {
  const members = state.etcd?.members ?? [m];
  m.pid = spawnInNetns(
    m.netns,
    "etcd",
    ["--name", m.name, "--data-dir", m.dataDir, "--listen-client-urls", clientUrl(m), "--advertise-client-urls", clientUrl(m), "--listen-peer-urls", peerUrl(m), "--initial-advertise-peer-urls", peerUrl(m), "--initial-cluster", members.map((x) => `${x.name}=${peerUrl(x)}`).join(","), "--initial-cluster-state", "new", "--log-level", "warn"],
    join(state.dir, `${m.name}.log`),
  );
  state.pids.push(m.pid);
  if (state.etcd && m === state.etcd.members?.[0]) state.etcd.pid = m.pid;
  saveState(state);
}

export async function stopEtcdMember(state: LabState, m: EtcdMember, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (pidAlive(m.pid)) process.kill(m.pid, signal);
  await waitFor(`etcd member ${m.name} to exit`, () => !pidAlive(m.pid), 10_000);
  state.pids = state.pids.filter((p) => p !== m.pid);
  saveState(state);
}

/** Puts the network config once the cluster answers (it must have a quorum). */
export async function putNetworkConfig(state: LabState, config: string, timeoutMs = 20_000): Promise<void> {
  const etcd = state.etcd;
  if (!etcd) throw new Error("the lab has no etcd");
  await waitFor("etcd to answer", () => {
    try {
      inNs(etcd.netns, "etcdctl", `--endpoints=${etcd.endpoint}`, "--dial-timeout=1s", "--command-timeout=2s", "put", "/weft/network/config", config);
      return true;
    } catch {
      return false;
    }
  }, timeoutMs);
}
