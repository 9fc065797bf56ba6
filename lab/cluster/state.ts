// The lab's state file: what `up` made (namespaces, processes, pods), so `status`, `exec` and `down`
// work from any shell and a crashed run can be cleaned up.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What `weft-lab up --ip-family` takes: the lab's families (addressing.ts has each one's addresses). */
export type LabIpFamily = "ipv4" | "ipv6" | "dual";
/** How the lab's nodes reach each other: weftd's backends. */
export type LabBackend = "vxlan" | "wireguard" | "host-gw";
export const LAB_BACKENDS: readonly LabBackend[] = ["vxlan", "wireguard", "host-gw"];
/** The wireguard backend's Mode (flannel's): a device per family, or one for both. */
export type LabWireguardMode = "separate" | "auto" | "ipv4" | "ipv6";
export const LAB_WIREGUARD_MODES: readonly LabWireguardMode[] = ["separate", "auto", "ipv4", "ipv6"];

export interface LabPod {
  name: string;
  netns: string;
  ip: string;
  /** A dual-stack lab's pods: the IPv6 address (`ip` is the IPv4 one; in an IPv6-only lab `ip` is IPv6). */
  ip6?: string;
  containerId: string;
  hostPort?: number;
  serverPid?: number;
}

export interface LabNode {
  name: string;
  netns: string;
  underlayIp: string;
  /** A dual-stack lab: the node's IPv6 underlay address (`underlayIp` is the first family's). */
  underlayIp6?: string;
  subnet?: string;
  weftdPid?: number;
  proxyPid?: number;
  kubeletPid?: number;
  dir: string;
  pods: LabPod[];
}

export interface EtcdMember {
  name: string;
  netns: string;
  ip: string;
  dataDir: string;
  pid: number;
}

/** The lab's API server: in the first etcd member's namespace, and its loopback relay on the host. */
export interface LabApiServer {
  netns: string;
  /** Where the lab's processes reach it (its fabric address). */
  url: string;
  pid: number;
  relayPid: number;
  relayPort: number;
  /** For the host's shell (kubectl): through the relay on 127.0.0.1. */
  kubeconfig: string;
  /** For the lab's processes in its namespaces (weftd, kubelets, controllers, proxies, DNS). */
  labKubeconfig: string;
}

export interface LabState {
  prefix: string;
  dir: string;
  /** `services: false`: the pod network alone (no controller, proxies or DNS), e.g. for benchmarks of weftd. */
  options: { nodes: number; podsPerNode: number; directRouting: boolean; ipMasq: boolean; proxyMode: string; serviceCidr: string; services?: boolean; etcdMembers?: number; ipFamily?: LabIpFamily; backend?: LabBackend; wireguardMode?: LabWireguardMode };
  controllerPid?: number;
  apiserver?: LabApiServer;
  namespaces: string[];
  pids: number[];
  /** endpoint: every member's client URL, comma-separated (as weftd and ipamctl take them); netns, pid, dataDir: the first member's. */
  etcd?: { netns: string; endpoint: string; pid: number; dataDir: string; members?: EtcdMember[] };
  wan?: { netns: string; ip: string; ip6?: string; serverPid: number };
  nodes: LabNode[];
}

export const labDir = (): string => process.env.WEFT_LAB_STATE_DIR ?? "/run/weft-lab";
export const labPrefix = (): string => process.env.WEFT_LAB_PREFIX ?? "wl-";
const stateFile = (dir: string): string => join(dir, "state.json");

export function loadState(dir = labDir()): LabState | undefined {
  if (!existsSync(stateFile(dir))) return undefined;
  return JSON.parse(readFileSync(stateFile(dir), "utf8")) as LabState;
}

export function saveState(state: LabState): void {
  mkdirSync(state.dir, { recursive: true });
  const tmp = `${stateFile(state.dir)}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, stateFile(state.dir));
}
