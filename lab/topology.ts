// Builds and removes the lab: a fabric bridge for the underlay (192.168.56.0/24), a router to a
// "wan" (203.0.113.0/24) with an HTTP server standing for the internet, etcd, N nodes running weftd,
// and pods attached through the CNI plugin. Everything lives in namespaces named with the lab's
// prefix; nothing touches the host's own interfaces, routes or firewall.
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cniAdd, cniDel } from "./cni-runtime.js";
import { clientUrl, etcdMembers, putNetworkConfig, startEtcdMember } from "./etcd.js";
import type { ContainerSpec } from "./netexec.js";
import { readApi } from "./api-store.js";
import { BIN, CNI_PATH, confDir, conflist, SELF } from "./paths.js";
import { removeResolvConf, writeResolvConf } from "./pods.js";
import { joinNode, startServices } from "./services-layer.js";
import { inNs, ip, pidAlive, sh, spawnInNetns, waitFor } from "./sh.js";
import { SERVER_PORTS } from "./servers.js";
import { labDir, labPrefix, loadState, saveState, type EtcdMember, type LabNode, type LabPod, type LabState } from "./state.js";

export const UNDERLAY = { bridgeIp: "192.168.56.1", prefixLen: 24 };
export const WAN = { routerIp: "203.0.113.1", hostIp: "203.0.113.10", prefixLen: 24 };
/** A dual-stack lab's IPv6 underlay and WAN (documentation and unique-local prefixes, inside the lab's namespaces only). */
export const UNDERLAY6 = { routerIp: "fd00:56::1", prefixLen: 64 };
export const WAN6 = { routerIp: "2001:db8:203::1", hostIp: "2001:db8:203::10", prefixLen: 64 };
/** The first pod on each node publishes its servers on host ports 30080–30085 (portmap): container port + this. */
export const HOST_PORT_OFFSET = 22_000;
const hostPortMappings = SERVER_PORTS.map((p) => ({ hostPort: p.containerPort + HOST_PORT_OFFSET, containerPort: p.containerPort, protocol: (p.protocol ?? "TCP").toLowerCase() }));
export const NETWORK_CONFIG = (directRouting: boolean, dual = false): string =>
  JSON.stringify({ Network: "10.244.0.0/16", SubnetLen: 24, ...(dual ? { EnableIPv6: true, IPv6Network: "fd00:10:244::/56" } : {}), Backend: { Type: "vxlan", VNI: 1, Port: 8472, DirectRouting: directRouting } });


const progress = (msg: string): void => void process.stderr.write(`  • ${msg}\n`);
const nodeIp = (i: number): string => `192.168.56.${11 + i}`;
const nodeIp6 = (i: number): string => `fd00:56::${(11 + i).toString(16)}`;
const isDual = (state: LabState): boolean => state.options.ipFamily === "dual";

export function addNetns(state: LabState, name: string): string {
  ip("netns", "add", name);
  state.namespaces.push(name);
  saveState(state);
  ip("-n", name, "link", "set", "lo", "up");
  return name;
}

/** A veth from the fabric bridge into `netns`, as eth0 with `cidr` (and `cidr6`, without DAD's wait). */
function plugIntoFabric(state: LabState, netns: string, cidr: string, tag: string, cidr6?: string): void {
  const fab = `${state.prefix}fabric`;
  const outer = `${state.prefix}${tag}`.slice(0, 15);
  ip("-n", fab, "link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", netns);
  ip("-n", fab, "link", "set", outer, "master", "br0", "up");
  ip("-n", netns, "addr", "add", cidr, "dev", "eth0");
  if (cidr6) ip("-n", netns, "addr", "add", cidr6, "dev", "eth0", "nodad");
  ip("-n", netns, "link", "set", "eth0", "up");
}

/** `extraArgs`: flags after the lab's own (weftd takes the last of a flag given twice). */
function startWeftd(state: LabState, node: LabNode, extraArgs: string[] = []): void {
  node.weftdPid = spawnInNetns(
    node.netns,
    join(BIN, "weftd"),
    ["--etcd-endpoints", state.etcd?.endpoint ?? "", "--iface", "eth0", "--subnet-file", join(node.dir, "subnet.env"), "--cni-conf-dir", confDir(node), "--resync-interval", "2", ...(state.options.ipMasq ? ["--ip-masq"] : []), ...extraArgs],
    join(node.dir, "weftd.log"),
    // MALLOC_ARENA_MAX as in deploy/weft.yml: the lab runs weftd the way a cluster does.
    { PATH: process.env.PATH, WEFT_CACHE_DIR: join(state.dir, "cache"), MALLOC_ARENA_MAX: "2" },
  );
  state.pids.push(node.weftdPid);
  saveState(state);
}

export { startWeftd };

/** The topology's pods and the wan host run the same test server as applied pods, on SERVER_PORTS. */
function startServers(netns: string, name: string, node: string, logFile: string, extraPorts: ContainerSpec["ports"] = [], dualStack = false): number {
  const spec: ContainerSpec = { pod: name, namespace: "default", node, image: "weft-lab/servers", ports: [...SERVER_PORTS, ...extraPorts], clusterState: "", ...(dualStack ? { dualStack } : {}) };
  return spawnInNetns(netns, process.execPath, [SELF, "agent", "container", JSON.stringify(spec)], logFile);
}

async function addPod(state: LabState, node: LabNode, j: number): Promise<LabPod> {
  const name = `${node.name}-pod${j}`;
  const netns = addNetns(state, `${state.prefix}${name}`);
  const hostPort = j === 1 ? (hostPortMappings[0]?.hostPort ?? 0) : undefined;
  const containerId = `lab-${name}`;
  const result = cniAdd(conflist(node, state.options.ipMasq), node.netns, CNI_PATH, { containerId, netns: `/var/run/netns/${netns}`, ifname: "eth0", args: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name}`, ...(hostPort ? { portMappings: hostPortMappings } : {}) }, join(state.dir, "cache"));
  const ips = (result.ips as { address: string }[] | undefined) ?? [];
  const ip6 = ips.find((x) => x.address.includes(":"))?.address.split("/")[0];
  const pod: LabPod = { name, netns, ip: ips[0]?.address.split("/")[0] ?? "", ...(ip6 ? { ip6 } : {}), containerId, ...(hostPort ? { hostPort } : {}) };
  writeResolvConf(netns, "default");
  pod.serverPid = startServers(netns, name, node.name, join(node.dir, `${name}.log`), [], isDual(state));
  state.pids.push(pod.serverPid);
  node.pods.push(pod);
  saveState(state);
  return pod;
}

export async function addNode(state: LabState, i: number, podsPerNode: number): Promise<LabNode> {
  const name = `node${i + 1}`;
  const node: LabNode = { name, netns: `${state.prefix}${name}`, underlayIp: nodeIp(i), ...(isDual(state) ? { underlayIp6: nodeIp6(i) } : {}), dir: join(state.dir, name), pods: [] };
  mkdirSync(confDir(node), { recursive: true });
  // As a DaemonSet's init container installs it: before weftd starts.
  writeFileSync(join(confDir(node), "10-weft.conflist"), `${JSON.stringify(conflist(node, state.options.ipMasq), null, 2)}\n`);
  addNetns(state, node.netns);
  state.nodes.push(node);
  plugIntoFabric(state, node.netns, `${node.underlayIp}/${UNDERLAY.prefixLen}`, name, node.underlayIp6 && `${node.underlayIp6}/${UNDERLAY6.prefixLen}`);
  ip("-n", node.netns, "route", "add", "default", "via", UNDERLAY.bridgeIp);
  if (node.underlayIp6) ip("-n", node.netns, "-6", "route", "add", "default", "via", UNDERLAY6.routerIp);
  startWeftd(state, node);
  await waitFor(`weftd on ${name} to write subnet.env (see ${join(node.dir, "weftd.log")})`, () => existsSync(join(node.dir, "subnet.env")), 20_000);
  node.subnet = sh("sed", ["-n", "s/^FLANNEL_SUBNET=//p", join(node.dir, "subnet.env")]).trim();
  saveState(state);
  progress(`${name}: ${node.underlayIp}, subnet ${node.subnet}, weftd pid ${node.weftdPid}`);
  for (let j = 1; j <= podsPerNode; j++) {
    const pod = await addPod(state, node, j);
    progress(`${pod.name}: ${pod.ip}${pod.hostPort ? ` (hostPorts ${hostPortMappings.map((m) => `${m.hostPort}/${m.protocol}`).join(", ")})` : ""}`);
  }
  // A node added to a running lab joins its services layer (Node object, weft-proxy).
  if (readApi(state.dir)) joinNode(state, node);
  return node;
}

export async function up(options: LabState["options"]): Promise<LabState> {
  const dir = labDir();
  if (loadState(dir)) throw new Error(`a lab is already up (state in ${dir}): run "weft-lab down" first`);
  for (const f of [join(BIN, "weft"), join(BIN, "weftd"), "/usr/lib/cni/portmap"]) if (!existsSync(f)) throw new Error(`${f} is missing: run "bash scripts/setup.sh" first`);
  mkdirSync(dir, { recursive: true });
  const prefix = labPrefix();
  const state: LabState = { prefix, dir, options, namespaces: [], pids: [], nodes: [] };
  saveState(state);

  progress("fabric, router and wan");
  const fab = addNetns(state, `${prefix}fabric`);
  ip("-n", fab, "link", "add", "br0", "type", "bridge");
  ip("-n", fab, "link", "set", "br0", "up");
  const dual = options.ipFamily === "dual";
  const router = addNetns(state, `${prefix}router`);
  plugIntoFabric(state, router, `${UNDERLAY.bridgeIp}/${UNDERLAY.prefixLen}`, "router", dual ? `${UNDERLAY6.routerIp}/${UNDERLAY6.prefixLen}` : undefined);
  inNs(router, "sysctl", "-qw", "net.ipv4.ip_forward=1");
  if (dual) inNs(router, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
  const wan = addNetns(state, `${prefix}wan`);
  ip("-n", router, "link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns", wan);
  ip("-n", router, "addr", "add", `${WAN.routerIp}/${WAN.prefixLen}`, "dev", "wan0");
  ip("-n", router, "link", "set", "wan0", "up");
  ip("-n", wan, "addr", "add", `${WAN.hostIp}/${WAN.prefixLen}`, "dev", "eth0");
  ip("-n", wan, "link", "set", "eth0", "up");
  ip("-n", wan, "route", "add", "default", "via", WAN.routerIp);
  if (dual) {
    ip("-n", router, "addr", "add", `${WAN6.routerIp}/${WAN6.prefixLen}`, "dev", "wan0", "nodad");
    ip("-n", wan, "addr", "add", `${WAN6.hostIp}/${WAN6.prefixLen}`, "dev", "eth0", "nodad");
    ip("-n", wan, "-6", "route", "add", "default", "via", WAN6.routerIp);
  }
  const wanPid = startServers(wan, "wan", "wan", join(dir, "wan.log"), [{ name: "http-80", containerPort: 80, protocol: "TCP" }], dual);
  state.wan = { netns: wan, ip: WAN.hostIp, ...(dual ? { ip6: WAN6.hostIp } : {}), serverPid: wanPid };
  state.pids.push(wanPid);
  saveState(state);

  const members = etcdMembers(state, options.etcdMembers ?? 1);
  progress(members.length === 1 ? "etcd" : `etcd: ${members.length} members`);
  const first = members[0] as EtcdMember;
  state.etcd = { netns: first.netns, endpoint: members.map(clientUrl).join(","), pid: 0, dataDir: first.dataDir, members };
  for (const m of members) {
    addNetns(state, m.netns);
    plugIntoFabric(state, m.netns, `${m.ip}/${UNDERLAY.prefixLen}`, m.netns.slice(prefix.length));
    startEtcdMember(state, m);
  }
  await putNetworkConfig(state, NETWORK_CONFIG(options.directRouting, dual));

  for (let i = 0; i < options.nodes; i++) await addNode(state, i, options.podsPerNode);
  if (options.services === false) return state;
  progress(`services: endpoints controller, weft-proxy (${options.proxyMode}) on every node, cluster DNS at 10.96.0.10`);
  await startServices(state);
  return state;
}

function killPid(pid: number): void {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    // already gone
  }
}

/** Removes everything the lab made; idempotent; also cleans up after a crashed run (by prefix). */
export async function down(): Promise<string[]> {
  const dir = labDir();
  const state = loadState(dir);
  const prefix = state?.prefix ?? labPrefix();
  const removed: string[] = [];
  if (state) {
    for (const node of state.nodes) {
      for (const pod of node.pods) {
        try {
          cniDel(conflist(node, state.options.ipMasq), node.netns, CNI_PATH, { containerId: pod.containerId, netns: `/var/run/netns/${pod.netns}`, ifname: "eth0", ...(pod.hostPort ? { portMappings: hostPortMappings } : {}) }, join(state.dir, "cache"));
        } catch {
          // the namespace is going away anyway
        }
      }
    }
    for (const pid of state.pids) killPid(pid);
    await waitFor("lab processes to exit", () => state.pids.every((p) => !pidAlive(p)), 5_000).catch(() => state.pids.forEach((p) => pidAlive(p) && process.kill(p, "SIGKILL")));
  }
  const all = sh("ip", ["netns", "list"]).split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) => n.startsWith(prefix));
  for (const ns of all) {
    // Processes still inside a lab namespace were started by the lab (a crashed run's): end them by pid.
    for (const pid of sh("ip", ["netns", "pids", ns]).split("\n").filter(Boolean)) killPid(Number(pid));
    ip("netns", "del", ns);
    removeResolvConf(ns);
    removed.push(ns);
  }
  rmSync(dir, { recursive: true, force: true });
  return removed;
}
