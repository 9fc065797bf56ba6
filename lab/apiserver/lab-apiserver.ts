// The lab's API server brought up beside etcd: credentials and kubeconfigs made, the server started in
// the first etcd member's namespace (listening on its fabric address, and on a unix socket), and a
// relay on the host's loopback to that socket for kubectl in the host's shell. The server's namespace
// gets a route to each node's pod subnet via the node, as a control-plane host running the pod network
// has, so that pods (cluster DNS, the ingress controller) reach it and it reaches them.
import { spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { KubeClient } from "../../kube/client.js";
import { loadKubeconfig } from "../../kube/config.js";
import { primaryPlan, urlHost } from "../cluster/addressing.js";
import { SELF } from "../cluster/paths.js";
import { ip, pidAlive, spawnInNetns, waitFor } from "../cluster/sh.js";
import { saveState, type LabNode, type LabState } from "../cluster/state.js";
import { credentialsIn, type ApiCredentials } from "./certs.js";
import { writeKubeconfig } from "./kubeconfig.js";
import { prepareApiServerFiles } from "./main.js";

const API_PORT = 6443;

/** A port free on the host's loopback now (the relay takes it next). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startApiServer(state: LabState): Promise<void> {
  const etcd = state.etcd;
  if (!etcd) throw new Error("the lab's API server needs its etcd");
  const dir = join(state.dir, "apiserver");
  mkdirSync(dir, { recursive: true });
  const address = primaryPlan(state).etcd(0);
  const relayPort = await freeLoopbackPort();
  const files = prepareApiServerFiles(dir, { addresses: [address], relayPort });
  const url = `https://${urlHost(address)}:${API_PORT}`;
  const labKubeconfig = writeKubeconfig(join(dir, "kubeconfig-in-lab"), { server: url, credentials: files.credentials });
  const pid = spawnApiServer(state, etcd.netns, etcd.endpoint, address, files.socket, files.credentials);
  // The relay runs in the host's namespace: only its loopback listener is there, nothing of the lab.
  const out = openSync(join(state.dir, "relay.log"), "a");
  const relay = spawn(process.execPath, [SELF, "agent", "relay", "--", "--socket", files.socket, "--port", String(relayPort)], { detached: true, stdio: ["ignore", out, out] });
  relay.unref();
  if (!relay.pid) throw new Error("could not start the API server's relay");
  state.pids.push(relay.pid);
  state.apiserver = { netns: etcd.netns, url, pid, relayPid: relay.pid, relayPort, kubeconfig: files.kubeconfig, labKubeconfig };
  saveState(state);
  await waitForApi(files.kubeconfig, 20_000);
}

function spawnApiServer(state: LabState, netns: string, etcdEndpoint: string, address: string, socket: string, c: ApiCredentials): number {
  const pid = spawnInNetns(netns, process.execPath, [SELF, "agent", "apiserver", "--", "--etcd", etcdEndpoint, "--listen", `${urlHost(address)}:${API_PORT}`, "--socket", socket, "--cert", c.serverCert, "--key", c.serverKey, "--ca", c.caCert, "--token-file", c.tokenFile, "--service-cidr", state.options.serviceCidr, "--log", join(state.dir, "apiserver.log")], join(state.dir, "apiserver.out"));
  state.pids.push(pid);
  return pid;
}

/** Stops the API server (SIGTERM, or `signal`): every client's watches break. */
export async function stopApiServer(state: LabState, signal: NodeJS.Signals = "SIGTERM"): Promise<number> {
  const api = state.apiserver;
  if (!api) throw new Error("the lab has no API server");
  const old = api.pid;
  if (pidAlive(old)) process.kill(old, signal);
  await waitFor(`the API server (pid ${old}) to exit`, () => !pidAlive(old), 10_000);
  state.pids = state.pids.filter((p) => p !== old);
  saveState(state);
  return old;
}

/** Starts the stopped API server again with the credentials it had; its clients resume their watches (or list again). */
export async function resumeApiServer(state: LabState): Promise<number> {
  const api = state.apiserver;
  const etcd = state.etcd;
  if (!api || !etcd) throw new Error("the lab has no API server");
  if (pidAlive(api.pid)) return api.pid;
  const dir = join(state.dir, "apiserver");
  api.pid = spawnApiServer(state, etcd.netns, etcd.endpoint, primaryPlan(state).etcd(0), join(dir, "apiserver.sock"), credentialsIn(dir));
  saveState(state);
  await waitForApi(api.kubeconfig, 20_000);
  return api.pid;
}

/** Until the API answers through the relay (the server up, its system namespaces made). */
async function waitForApi(kubeconfig: string, timeoutMs: number): Promise<void> {
  const client = new KubeClient(loadKubeconfig(kubeconfig), { requestTimeoutMs: 2_000 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await client.request({ method: "GET", path: "/api/v1/namespaces/default" });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`the lab's API server did not answer within ${timeoutMs} ms (see apiserver.log): ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    client.close();
  }
}

/** The API server's namespace routes the node's pod subnet via the node (its first family). */
export function routePodSubnetToApi(state: LabState, node: LabNode, podCidr: string): void {
  if (!state.apiserver) return;
  ip("-n", state.apiserver.netns, ...(podCidr.includes(":") ? ["-6"] : []), "route", "replace", podCidr, "via", node.underlayIp);
}
