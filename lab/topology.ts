// Builds and removes the lab: a fabric bridge for the underlay (192.168.56.0/24, and fd00:56::/64 with
// IPv6), a router to a "wan" (203.0.113.0/24, 2001:db8:203::/64) with an HTTP server standing for the
// internet, etcd, N nodes running weftd, and pods attached through the CNI plugin (addressing.ts). Everything lives in namespaces named with the lab's
// prefix; nothing touches the host's own interfaces, routes or firewall.
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { labFamilies, networkConfig, PLANS, primaryPlan, type FamilyPlan } from "./cluster/addressing.js";
import { cniAdd, cniDel } from "./cluster/cni-runtime.js";
import { clientUrl, etcdMembers, putNetworkConfig, startEtcdMember } from "./cluster/etcd.js";
import type { ContainerSpec } from "./containers/netexec.js";
import { startApiServer } from "./apiserver/lab-apiserver.js";
import { BIN, CNI_PATH, confDir, conflist, SELF } from "./cluster/paths.js";
import { removeResolvConf, writeResolvConf } from "./agents/pods.js";
import { registerMirrorPod } from "./agents/mirror-pods.js";
import { joinNode, startServices } from "./agents/services-layer.js";
import { inNs, ip, pidAlive, sh, spawnInNetns, waitFor } from "./cluster/sh.js";
import { HOST_PORT_OFFSET, SERVER_PORTS } from "./containers/servers.js";
import { labDir, labPrefix, loadState, saveState, type EtcdMember, type LabNode, type LabPod, type LabState } from "./cluster/state.js";

const hostPortMappings = SERVER_PORTS.map((p) => ({ hostPort: p.containerPort + HOST_PORT_OFFSET, containerPort: p.containerPort, protocol: (p.protocol ?? "TCP").toLowerCase() }));

const progress = (msg: string): void => void process.stderr.write(`  • ${msg}\n`);
/** A lab with IPv6 (dual-stack or IPv6-only): every server listens on IPv6 too. */
const hasIpv6 = (state: LabState): boolean => labFamilies(state).includes("IPv6");
/** `address/len` on the underlay for each of the lab's families, from the plan's `pick`. */
const underlayCidrs = (state: LabState, pick: (plan: FamilyPlan) => string): string[] => labFamilies(state).map((f) => `${pick(PLANS[f])}/${PLANS[f].prefixLen}`);

export function addNetns(state: LabState, name: string): string {
  ip("netns", "add", name);
  state.namespaces.push(name);
  saveState(state);
  ip("-n", name, "link", "set", "lo", "up");
  return name;
}

/** A veth from the fabric bridge into `netns`, as eth0 with `cidrs` (IPv6 ones without DAD's wait). */
function plugIntoFabric(state: LabState, netns: string, cidrs: string[], tag: string): void {
  const fab = `${state.prefix}fabric`;
  const outer = `${state.prefix}${tag}`.slice(0, 15);
  ip("-n", fab, "link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", netns);
  ip("-n", fab, "link", "set", outer, "master", "br0", "up");
  for (const cidr of cidrs) ip("-n", netns, "addr", "add", cidr, "dev", "eth0", ...(cidr.includes(":") ? ["nodad"] : []));
  ip("-n", netns, "link", "set", "eth0", "up");
}

/** A default route through the router for each of the lab's families. */
function routeViaRouter(state: LabState, netns: string): void {
  for (const f of labFamilies(state)) ip("-n", netns, ...(f === "IPv6" ? ["-6"] : []), "route", "add", "default", "via", PLANS[f].router);
}

/**
 * The wireguard backend's device and key per node: every lab node shares the host's /var/run/wireguard
 * (where wireguard-go serves its UAPI socket), so each needs a device name of its own.
 */
function wireguardArgs(state: LabState, node: LabNode): string[] {
  if (state.options.backend !== "wireguard") return [];
  const tag = `${state.prefix}${node.name.replace("node", "")}`.replace(/[^A-Za-z0-9]/g, "");
  return ["--wireguard-device", `wg${tag}`.slice(-12), "--wireguard-key-file", join(node.dir, "wireguard.key")];
}

/** `extraArgs`: flags after the lab's own (weftd takes the last of a flag given twice). */
function startWeftd(state: LabState, node: LabNode, extraArgs: string[] = []): void {
  node.weftdPid = spawnInNetns(
    node.netns,
    join(BIN, "weftd"),
    ["--etcd-endpoints", state.etcd?.endpoint ?? "", ...(state.apiserver ? ["--kubeconfig", state.apiserver.labKubeconfig, "--node-name", node.name] : []), "--iface", "eth0", "--subnet-file", join(node.dir, "subnet.env"), "--cni-conf-dir", confDir(node), "--resync-interval", "2", ...(state.options.ipMasq ? ["--ip-masq"] : []), ...wireguardArgs(state, node), ...extraArgs],
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
  // ip: the first family's address; ip6: a dual-stack pod's IPv6 one.
  const ip6 = ips.length > 1 ? ips.find((x) => x.address.includes(":"))?.address.split("/")[0] : undefined;
  const pod: LabPod = { name, netns, ip: ips[0]?.address.split("/")[0] ?? "", ...(ip6 ? { ip6 } : {}), containerId, ...(hostPort ? { hostPort } : {}) };
  writeResolvConf(state, netns, "default");
  pod.serverPid = startServers(netns, name, node.name, join(node.dir, `${name}.log`), [], hasIpv6(state));
  state.pids.push(pod.serverPid);
  node.pods.push(pod);
  saveState(state);
  await registerMirrorPod(state, node, pod, SERVER_PORTS);
  return pod;
}

export async function addNode(state: LabState, i: number, podsPerNode: number): Promise<LabNode> {
  const name = `node${i + 1}`;
  const [first, second] = labFamilies(state).map((f) => PLANS[f].node(i));
  const node: LabNode = { name, netns: `${state.prefix}${name}`, underlayIp: first ?? "", ...(second ? { underlayIp6: second } : {}), dir: join(state.dir, name), pods: [] };
  mkdirSync(confDir(node), { recursive: true });
  // As a DaemonSet's init container installs it: before weftd starts.
  writeFileSync(join(confDir(node), "10-weft.conflist"), `${JSON.stringify(conflist(node, state.options.ipMasq), null, 2)}\n`);
  addNetns(state, node.netns);
  state.nodes.push(node);
  plugIntoFabric(state, node.netns, underlayCidrs(state, (p) => p.node(i)), name);
  routeViaRouter(state, node.netns);
  startWeftd(state, node);
  await waitFor(`weftd on ${name} to write subnet.env (see ${join(node.dir, "weftd.log")})`, () => existsSync(join(node.dir, "subnet.env")), 20_000);
  // The node's gateway/len of its first family: FLANNEL_SUBNET, or FLANNEL_IPV6_SUBNET on an IPv6-only node.
  node.subnet = sh("sed", ["-n", "s/^FLANNEL_\\(IPV6_\\)\\?SUBNET=//p", join(node.dir, "subnet.env")]).trim().split("\n")[0];
  saveState(state);
  progress(`${name}: ${node.underlayIp}, subnet ${node.subnet}, weftd pid ${node.weftdPid}`);
  for (let j = 1; j <= podsPerNode; j++) {
    const pod = await addPod(state, node, j);
    progress(`${pod.name}: ${pod.ip}${pod.hostPort ? ` (hostPorts ${hostPortMappings.map((m) => `${m.hostPort}/${m.protocol}`).join(", ")})` : ""}`);
  }
  // A node added to a running lab joins its services layer (Node object, weft-proxy).
  if (state.controllerPid) joinNode(state, node);
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
  const router = addNetns(state, `${prefix}router`);
  plugIntoFabric(state, router, underlayCidrs(state, (p) => p.router), "router");
  const wan = addNetns(state, `${prefix}wan`);
  ip("-n", router, "link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns", wan);
  for (const f of labFamilies(state)) {
    const { wan: w } = PLANS[f];
    inNs(router, "sysctl", "-qw", f === "IPv6" ? "net.ipv6.conf.all.forwarding=1" : "net.ipv4.ip_forward=1");
    ip("-n", router, "addr", "add", `${w.router}/${w.prefixLen}`, "dev", "wan0", ...(f === "IPv6" ? ["nodad"] : []));
    ip("-n", wan, "addr", "add", `${w.host}/${w.prefixLen}`, "dev", "eth0", ...(f === "IPv6" ? ["nodad"] : []));
  }
  ip("-n", router, "link", "set", "wan0", "up");
  ip("-n", wan, "link", "set", "eth0", "up");
  for (const f of labFamilies(state)) ip("-n", wan, ...(f === "IPv6" ? ["-6"] : []), "route", "add", "default", "via", PLANS[f].wan.router);
  const [wanIp, wanIp6] = labFamilies(state).map((f) => PLANS[f].wan.host);
  const wanPid = startServers(wan, "wan", "wan", join(dir, "wan.log"), [{ name: "http-80", containerPort: 80, protocol: "TCP" }], hasIpv6(state));
  state.wan = { netns: wan, ip: wanIp ?? "", ...(wanIp6 ? { ip6: wanIp6 } : {}), serverPid: wanPid };
  state.pids.push(wanPid);
  saveState(state);

  const members = etcdMembers(state, options.etcdMembers ?? 1);
  progress(members.length === 1 ? "etcd" : `etcd: ${members.length} members`);
  const first = members[0] as EtcdMember;
  state.etcd = { netns: first.netns, endpoint: members.map(clientUrl).join(","), pid: 0, dataDir: first.dataDir, members };
  for (const m of members) {
    addNetns(state, m.netns);
    plugIntoFabric(state, m.netns, [`${m.ip}/${primaryPlan(state).prefixLen}`], m.netns.slice(prefix.length));
    startEtcdMember(state, m);
  }
  await putNetworkConfig(state, networkConfig(options.directRouting, options.ipFamily ?? "ipv4", options.backend, options.wireguardMode));
  progress("API server (beside etcd; kubectl through a relay on the host's loopback)");
  await startApiServer(state);

  for (let i = 0; i < options.nodes; i++) await addNode(state, i, options.podsPerNode);
  if (options.services === false) return state;
  progress(`services: endpoints controller, weft-proxy (${options.proxyMode}) on every node, cluster DNS at ${primaryPlan(state).clusterDns}`);
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
