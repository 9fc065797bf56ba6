// weft-lab: a multi-node weft cluster built from network namespaces on this host.
import { spawnSync } from "node:child_process";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { defaultServiceCidr, LAB_IP_FAMILIES, type LabIpFamily } from "./cluster/addressing.js";
import { LAB_BACKENDS, LAB_WIREGUARD_MODES, type LabBackend, type LabWireguardMode } from "./cluster/state.js";
import type { ContainerSpec } from "./containers/netexec.js";
import { labDir, loadState, type LabState } from "./cluster/state.js";
import { pidAlive, waitFor } from "./cluster/sh.js";
import { saveState } from "./cluster/state.js";
import { netpolOptions } from "./matrix/netpol-options.js";
import { statusText } from "./matrix/status-text.js";

function requireState(): LabState {
  const state = loadState();
  if (!state) throw new Error(`no lab is up (no state in ${labDir()}): run "npm run lab -- up"`);
  return state;
}

function statusJson(s: LabState): object {
  return {
    etcd: { endpoints: s.etcd ? s.etcd.endpoint.split(",") : [], netns: s.etcd?.netns, members: (s.etcd?.members ?? []).map((m) => ({ name: m.name, netns: m.netns, ip: m.ip, pid: m.pid, running: pidAlive(m.pid) })) },
    nodes: s.nodes.map((n) => ({ name: n.name, netns: n.netns, underlayIp: n.underlayIp, ...(n.underlayIp6 ? { underlayIp6: n.underlayIp6 } : {}), subnet: n.subnet, weftdPid: n.weftdPid, pods: n.pods.map((p) => ({ name: p.name, netns: p.netns, ip: p.ip, ...(p.ip6 ? { ip6: p.ip6 } : {}) })) })),
    wan: { netns: s.wan?.netns, ip: s.wan?.ip, ...(s.wan?.ip6 ? { ip6: s.wan.ip6 } : {}) },
  };
}

/** The namespace of a pod (`deploy/NAME`: a Deployment's first pod, as kubectl exec takes it), a node, or the lab's hosts. */
async function findNetns(s: LabState, name: string, namespace = "default"): Promise<string> {
  const fixed = [...s.nodes.flatMap((n) => [{ name: n.name, netns: n.netns }, ...n.pods]), ...(s.wan ? [{ name: "wan", netns: s.wan.netns }] : []), ...(s.etcd ? [{ name: "etcd", netns: s.etcd.netns }] : []), { name: "router", netns: `${s.prefix}router` }];
  const hit = fixed.find((x) => x.name === name || x.netns === name);
  if (hit) return hit.netns;
  const { apiPodNetns } = await import("./agents/pod-lookup.js");
  const netns = await apiPodNetns(s, name, namespace);
  if (!netns) throw new Error(`no pod "${name}" in namespace "${namespace}", and no node or lab host of that name; nodes and hosts: ${fixed.map((x) => x.name).join(", ")}`);
  return netns;
}

/** The report's policy truth tables, probed now, when the upstream model is in the lab (weft-lab netpol); else nothing. */
async function policySection(state: LabState): Promise<string> {
  if (!state.apiserver) return "";
  const [netpol, { netpolSection }] = await Promise.all([import("./matrix/netpol.js"), import("./matrix/netpol-report.js")]);
  if (!(await netpol.modelExists(state))) return "";
  const pods = await netpol.modelPods(state);
  if (!pods.length) return "";
  const t = performance.now();
  const tables = await netpol.probeModel(pods, { ports: [80, 81], protocols: ["TCP", "UDP"], via: "pod", timeoutMs: 1000 });
  return netpolSection({ pods, via: "pod", buildMs: 0, probeMs: Math.round(performance.now() - t), tables });
}

const NEXT_STEPS = `Look around:  npm run lab -- status · npm run lab -- exec node1-pod1 -- ip addr · npm run lab -- exec node1 -- ip route
Tear down:    npm run lab -- down`;

async function demo(): Promise<number> {
  let state = loadState();
  if (state) console.log(`Using the lab that is already up (${state.nodes.length} nodes).`);
  else {
    console.log("Bringing up a 3-node weft lab (2 pods per node, ipMasq on)…");
    const { up } = await import("./topology.js");
    state = await up({ nodes: 3, podsPerNode: 2, directRouting: false, ipMasq: true, proxyMode: "iptables", serviceCidr: "10.96.0.0/12" });
  }
  console.log(`\n${statusText(state)}\n\nConnectivity matrix (real packets; latency is the round trip):\n`);
  const { formatMatrix, matrixPassed, runMatrix } = await import("./matrix/matrix.js");
  const rows = await runMatrix(state);
  console.log(formatMatrix(rows));
  const ok = matrixPassed(rows);
  console.log(`\n${ok ? "All cells passed." : "Some cells FAILED (see above)."}\n${NEXT_STEPS}`);
  return ok ? 0 : 1;
}

async function main(): Promise<number> {
  let code = 0;
  await yargs(hideBin(process.argv))
    .scriptName("weft-lab")
    .usage("weft-lab: a multi-node weft cluster in network namespaces on this host")
    .command(
      "up",
      "build the lab: fabric, router, wan, etcd, nodes running weftd, pods through the CNI plugin",
      (y) =>
        y.options({
          nodes: { type: "number", default: 3 },
          "pods-per-node": { type: "number", default: 2 },
          "direct-routing": { type: "boolean", default: false, describe: "vxlan's DirectRouting: same-subnet nodes routed without VXLAN" },
          backend: { choices: LAB_BACKENDS, default: "vxlan" as LabBackend, describe: "how nodes reach each other: vxlan, wireguard (encrypted; wireguard-go where the kernel has no module) or host-gw" },
          "wireguard-mode": { choices: LAB_WIREGUARD_MODES, default: "separate" as LabWireguardMode, describe: "with --backend wireguard: flannel's Mode (a device per family, or one for both)" },
          "ip-masq": { type: "boolean", default: true },
          "proxy-mode": { choices: ["iptables", "nftables", "userspace", "ipvs"], default: "iptables", describe: "weft-proxy's mode on every node (kube-proxy's --proxy-mode)" },
          "service-cidr": { type: "string", describe: "the service CIDRs, one per family, comma-separated (default 10.96.0.0/12, fd00:10:96::/112 with IPv6)" },
          services: { type: "boolean", default: true, describe: "run the Services layer (endpoints controller, weft-proxy, cluster DNS); --no-services for the pod network alone" },
          "etcd-members": { type: "number", default: 1, describe: "etcd cluster size (each member in its own namespace); weftd and ipamctl get every endpoint" },
          "ip-family": { choices: LAB_IP_FAMILIES, default: "ipv4" as LabIpFamily, describe: "the lab's families: ipv6 builds it IPv6-only (underlay, WAN, pods, Services); dual adds IPv6 beside IPv4" },
        }),
      async (a) => {
        const { up } = await import("./topology.js");
        const state = await up({ nodes: a.nodes, podsPerNode: a["pods-per-node"], directRouting: a["direct-routing"], ipMasq: a["ip-masq"], proxyMode: a["proxy-mode"], serviceCidr: a["service-cidr"] ?? defaultServiceCidr(a["ip-family"]), services: a.services, etcdMembers: a["etcd-members"], ipFamily: a["ip-family"], backend: a.backend, wireguardMode: a["wireguard-mode"] });
        console.log(`\n${statusText(state)}\n\n${NEXT_STEPS}`);
      },
    )
    .command("status", "show nodes, subnets and pods", (y) => y.option("json", { type: "boolean", default: false }), (a) => {
      const s = requireState();
      console.log(a.json ? JSON.stringify(statusJson(s), null, 2) : statusText(s));
    })
    .command("matrix", "run the connectivity matrix on the lab that is up", (y) => y.option("json", { type: "boolean", default: false }), async (a) => {
      const { formatMatrix, matrixPassed, runMatrix } = await import("./matrix/matrix.js");
      const rows = await runMatrix(requireState());
      console.log(a.json ? JSON.stringify(rows, null, 2) : formatMatrix(rows));
      code = matrixPassed(rows) ? 0 : 1;
    })
    .command("report", "run the matrix and write an HTML page: topology, matrix as a colour grid, leases", (y) => y.option("out", { type: "string", describe: "file to write (default: report.html in the lab's state dir)" }), async (a) => {
      const state = requireState();
      const [{ runMatrix, matrixPassed }, { renderReport }, { readLeases }] = await Promise.all([import("./matrix/matrix.js"), import("./matrix/report.js"), import("./matrix/leases.js")]);
      const rows = await runMatrix(state);
      const out = a.out ?? `${state.dir}/report.html`;
      const { writeFileSync } = await import("node:fs");
      writeFileSync(out, renderReport(state, rows, readLeases(state), new Date(), await policySection(state)));
      console.log(`wrote ${out} (${matrixPassed(rows) ? "every applicable cell passed" : "some cells FAILED"})`);
      code = matrixPassed(rows) ? 0 : 1;
    })
    .command(
      "netpol",
      "build the upstream NetworkPolicy model (namespaces x, y, z; pods a, b, c) and print its truth tables, probed with real connections, or replay cases of policy steps on it",
      netpolOptions,
      async (a) => {
        code = await (await import("./matrix/netpol-command.js")).netpolCommand(requireState(), a);
      },
    )
    .command("etcd <action> [members..]", "stop or start etcd members (all when none is named), to inject faults", (y) => y.positional("action", { choices: ["stop", "start"] as const }).option("signal", { type: "string", default: "SIGTERM" }), async (a) => {
      const state = requireState();
      const { startEtcdMember, stopEtcdMember } = await import("./cluster/etcd.js");
      const all = state.etcd?.members ?? [];
      const names = ((a.members as string[] | undefined) ?? []).map(String);
      const unknown = names.filter((n) => !all.some((m) => m.name === n));
      if (unknown.length) throw new Error(`no etcd member "${unknown.join('", "')}"; members: ${all.map((m) => m.name).join(", ")}`);
      const chosen = names.length ? all.filter((m) => names.includes(m.name)) : all;
      for (const m of chosen) {
        if (a.action === "stop") await stopEtcdMember(state, m, a.signal as NodeJS.Signals);
        else if (!pidAlive(m.pid)) startEtcdMember(state, m);
        console.log(`etcd member ${m.name}: ${a.action === "stop" ? "stopped" : `running, pid ${m.pid}`}`);
      }
    })
    .command("exec <name> [cmd..]", "run a command inside a pod's or node's namespace (kubectl exec's spelling: exec -n NAMESPACE POD -- CMD)", (y) => y.option("n", { type: "string", alias: "namespace", default: "default" }), async (a) => {
      const state = requireState();
      const netns = await findNetns(state, String(a.name), a.n);
      // After "--" yargs leaves the command in `_` (behind "exec"), not in `cmd`.
      const cmd = [...((a.cmd as string[] | undefined) ?? []), ...a._.slice(1)].map(String);
      // Pods: `ip netns exec`, which mounts the pod's resolv.conf (cluster DNS); nodes: nsenter, which keeps /sys as it is.
      const isNode = state.nodes.some((n) => n.netns === netns);
      const r = isNode ? spawnSync("nsenter", [`--net=/var/run/netns/${netns}`, ...(cmd.length ? cmd : ["sh"])], { stdio: "inherit" }) : spawnSync("ip", ["netns", "exec", netns, ...(cmd.length ? cmd : ["sh"])], { stdio: "inherit" });
      code = r.status ?? 1;
    })
    .command("add-node", "add one more node (with its pods) to the lab that is up", (y) => y.option("pods", { type: "number", default: 2 }), async (a) => {
      const state = requireState();
      const { addNode } = await import("./topology.js");
      const node = await addNode(state, state.nodes.length, a.pods);
      console.log(`added ${node.name} (${node.underlayIp}, subnet ${node.subnet})`);
    })
    .command("restart-weftd <node>", "stop a node's weftd (SIGTERM, or --signal SIGKILL) and start it again", (y) => y.options({ signal: { type: "string", default: "SIGTERM" }, "weftd-args": { type: "string", default: "", describe: "flags added to weftd's own (a later flag wins), space-separated" } }), async (a) => {
      const state = requireState();
      const node = state.nodes.find((n) => n.name === a.node);
      if (!node) throw new Error(`no node "${String(a.node)}"`);
      const old = node.weftdPid;
      if (old && pidAlive(old)) process.kill(old, a.signal as NodeJS.Signals);
      await waitFor(`weftd ${old} to exit`, () => !pidAlive(old), 10_000);
      const { startWeftd } = await import("./topology.js");
      startWeftd(state, node, a["weftd-args"].split(" ").filter(Boolean));
      saveState(state);
      console.log(`weftd on ${node.name}: pid ${old} → ${node.weftdPid}`);
    })
    .command("apiserver <action>", "stop (SIGTERM, or --signal SIGKILL), start or restart the API server: its clients' watches break and resume", (y) => y.positional("action", { choices: ["stop", "start", "restart"] as const }).option("signal", { type: "string", default: "SIGTERM" }), async (a) => {
      const state = requireState();
      const { resumeApiServer, stopApiServer } = await import("./apiserver/lab-apiserver.js");
      if (a.action !== "start") console.log(`API server: pid ${await stopApiServer(state, a.signal as NodeJS.Signals)} stopped`);
      if (a.action !== "stop") console.log(`API server: running, pid ${await resumeApiServer(state)}`);
    })
    .command("restart-proxy <node>", "stop a node's weft-proxy (SIGTERM: rules stay, as with kube-proxy) and start it again", (y) => y.option("signal", { type: "string", default: "SIGTERM" }), async (a) => {
      const state = requireState();
      const node = state.nodes.find((n) => n.name === a.node);
      if (!node) throw new Error(`no node "${String(a.node)}"`);
      const old = node.proxyPid;
      if (!old) throw new Error(`${node.name} runs no weft-proxy (the lab was brought up without Services)`);
      if (pidAlive(old)) process.kill(old, a.signal as NodeJS.Signals);
      await waitFor(`weft-proxy ${old} to exit`, () => !pidAlive(old), 10_000);
      state.pids = state.pids.filter((p) => p !== old);
      const { startProxy } = await import("./agents/services-layer.js");
      startProxy(state, node);
      console.log(`weft-proxy on ${node.name}: pid ${old} → ${node.proxyPid}`);
    })
    .command("apply", "create or update objects from Kubernetes manifests (Pod, Deployment, StatefulSet, Service)", (y) => y.options({ f: { type: "string", demandOption: true, alias: "filename" }, R: { type: "boolean", default: false, alias: "recursive" } }), async (a) => {
      const state = requireState();
      const [{ readManifests }, { apply }] = await Promise.all([import("./apiserver/manifests.js"), import("./agents/apply.js")]);
      const manifests = readManifests(a.f, a.R, (w) => console.error(`Warning: ${w}`));
      for (const line of await apply(state, manifests)) console.log(line);
    })
    .command("delete", "delete the objects named in Kubernetes manifests", (y) => y.options({ f: { type: "string", demandOption: true, alias: "filename" }, R: { type: "boolean", default: false, alias: "recursive" } }), async (a) => {
      const state = requireState();
      const [{ readManifests }, { remove }] = await Promise.all([import("./apiserver/manifests.js"), import("./agents/apply.js")]);
      const manifests = readManifests(a.f, a.R, () => undefined);
      for (const line of await remove(state, manifests)) console.log(line);
    })
    .command("get <resource> [name]", "kubectl get against the lab's API server (its kubeconfig given)", (y) => y.positional("resource", { type: "string" }).positional("name", { type: "string" }).options({ o: { type: "string", alias: "output" }, n: { type: "string", alias: "namespace" }, A: { type: "boolean", alias: "all-namespaces", default: false }, l: { type: "string", alias: "selector" } }), (a) => {
      const state = requireState();
      if (!state.apiserver) throw new Error("the lab has no API server");
      const args = ["--kubeconfig", state.apiserver.kubeconfig, "get", String(a.resource), ...(a.name ? [a.name] : []), ...(a.o ? ["-o", a.o] : []), ...(a.n ? ["-n", a.n] : []), ...(a.A ? ["-A"] : []), ...(a.l ? ["-l", a.l] : [])];
      code = spawnSync("kubectl", args, { stdio: "inherit" }).status ?? 1;
    })
    .command("kubeconfig", "print the path of the kubeconfig for kubectl and the official clients (the lab's API server, through the host's loopback)", {}, () => {
      const state = requireState();
      if (!state.apiserver) throw new Error("the lab has no API server");
      console.log(state.apiserver.kubeconfig);
    })
    .command("down", "remove everything the lab made (idempotent)", {}, async () => {
      const { down } = await import("./topology.js");
      const removed = await down();
      console.log(removed.length ? `removed ${removed.length} namespaces` : "nothing to remove");
    })
    .command("demo", "bring up a 3-node lab (if none is up) and run the connectivity matrix", {}, async () => {
      code = await demo();
    })
    .command("agent <role> [args..]", false, (y) => y.options({ dir: { type: "string" } }).strict(false), async (a) => {
      const args = (a.args as (string | number)[] | undefined)?.map(String) ?? [];
      // Heavy modules load only for the command that needs them: `get` answers in well under 200 ms.
      const log = (msg: string, fields?: object): void => console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...fields }));
      if (a.role === "controller-manager") {
        const pools = (args[1] ?? "").split(",").filter(Boolean).map((p) => p.split("-") as [string, string]);
        await (await import("./agents/controller-manager.js")).runControllerManager({ kubeconfig: args[0] ?? "", lbPools: pools }, log);
        await new Promise(() => undefined);
      }
      if (a.role === "kubelet") {
        await (await import("./agents/kubelet.js")).runKubelet(a.dir ?? labDir(), args[0] ?? "", args[1] ?? "", log);
        await new Promise(() => undefined);
      }
      if (a.role === "container") {
        (await import("./containers/netexec.js")).runContainer(JSON.parse(args[0] ?? "{}") as ContainerSpec);
        await new Promise(() => undefined);
      }
      if (a.role === "grpc") {
        const r = await (await import("./matrix/grpc-probe.js")).grpcProbe(args[0] ?? "");
        console.log(JSON.stringify(r));
        code = r.ok ? 0 : 1;
        return;
      }
      if (a.role === "connect") {
        // agnhost's own flags (--protocol, --timeout) as given: read from argv, past yargs.
        const [{ parseAgnhost }, { agnhostConnect }] = await Promise.all([import("./containers/agnhost-args.js"), import("./containers/agnhost.js")]);
        const argv = process.argv.slice(process.argv.indexOf("connect") + 1).filter((x) => x !== "--");
        const cmd = parseAgnhost(["connect", ...argv]);
        if (cmd?.kind !== "connect") throw new Error("usage: weft-lab agent connect HOST:PORT --protocol tcp|udp|sctp --timeout 1s");
        const r = await agnhostConnect(cmd);
        if (!r.ok) console.error(r.detail);
        else if (cmd.protocol !== "tcp") console.log(r.detail);
        code = r.ok ? 0 : 1;
        return;
      }
      if (a.role === "probe-row") {
        const { probeRow } = await import("./matrix/probes.js");
        console.log(JSON.stringify(await probeRow(JSON.parse(args[0] ?? "{}") as import("./matrix/probes.js").RowTarget)));
        return;
      }
      if (a.role === "apiserver" || a.role === "relay") {
        // Flags after "--" (yargs is strict): see lab/apiserver/main.ts for the options.
        const { runAgent } = await import("./apiserver/agent.js");
        await runAgent(String(a.role), [...args, ...a._.slice(1).map(String)]);
        await new Promise(() => undefined);
      }
      throw new Error(`unknown agent role ${String(a.role)}`);
    })
    .demandCommand(1)
    .strict()
    .fail((msg, err) => {
      console.error(`weft-lab: ${err?.message ?? msg}`);
      process.exit(err ? 2 : 1);
    })
    .parseAsync();
  return code;
}

/** Exits once stdout has been written out: a pipe's reader (a test, jq) gets all of a long JSON answer. */
const exitAfterOutput = (code: number): void => {
  if (process.stdout.writableLength === 0) process.exit(code);
  process.stdout.once("drain", () => process.exit(code));
};

void main().then(
  exitAfterOutput,
  (err: Error) => {
    // An error from a command handler: one line, as the fail handler prints it, not a stack.
    console.error(`weft-lab: ${err.message}`);
    process.exit(2);
  },
);
