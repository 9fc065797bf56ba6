// The Kubernetes networking walkthrough typed as kubectl commands against the lab's API server, with the
// kubeconfig `weft-lab kubeconfig` prints: the ClusterIP, NodePort and headless examples applied
// recursively, listed, the cluster IP read by jsonpath, curl from a pod by IP and by name, everything
// deleted again — the lab's kubelets, controllers, proxies and DNS acting on what kubectl wrote. The
// same with Debian's kubectl 1.20 where it is unpacked; and every weftd watching the same API.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { eventually, metricValue, readyz, useLab } from "../helpers/lab.js";
import { EXAMPLES } from "../helpers/services.js";

const OLD_KUBECTL = resolve(import.meta.dirname, "../../dist/tools/kubectl-1.20/usr/bin/kubectl");

describe("kubectl drives the lab", () => {
  const { lab, status } = useLab("kc", ["--nodes", "2", "--pods-per-node", "1"]);
  const kubeconfig = (): string => lab("kubeconfig").out.trim();
  const kubectl = (bin: string, ...args: string[]): { code: number; out: string; err: string } => {
    const r = spawnSync(bin, ["--kubeconfig", kubeconfig(), ...args], { encoding: "utf8", timeout: 90_000 });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
  const k = (...args: string[]): string => {
    const r = kubectl("kubectl", ...args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${r.code}: ${r.err}`);
    return r.out;
  };
  const inPod = (pod: string, ...cmd: string[]): string => lab("exec", pod, "--", ...cmd).out.trim();
  const examples = ["clusterip", "nodeport", "headless", "client"].flatMap((d) => ["-f", resolve(EXAMPLES, d)]);

  it("applies the walkthrough's examples recursively and the lab runs them", async () => {
    const out = k("apply", "-R", ...examples);
    expect(out).toMatch(/deployment\.apps\/hello-kubernetes created/);
    expect(out).toMatch(/service\/cluster-demo created/);
    expect(out).toMatch(/service\/nodeport-demo created/);
    expect(out).toMatch(/statefulset\.apps\/hello-kubernetes created/);
    // kubectl wait: a watch on each pod's Ready condition, as a user would wait.
    k("wait", "--for=condition=Ready", "pod", "-l", "app=hello-kubernetes", "--timeout=60s");
    k("wait", "--for=condition=Ready", "pod", "-l", "app=client", "--timeout=60s");
    const wide = k("get", "pods", "-o", "wide", "-l", "app=hello-kubernetes");
    expect(wide.split("\n")[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
    const rows = wide.trim().split("\n").slice(1);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const row of rows) expect(row).toMatch(/\s1\/1\s+Running\s+0\s+\S+\s+10\.244\.\d+\.\d+\s+node[12]\s/);
    // The scheduler spread them over both nodes.
    expect(new Set(rows.map((r) => /\s(node[12])\s/.exec(r)?.[1]))).toEqual(new Set(["node1", "node2"]));
  });

  it("lists the Services and their endpoints, and reads the cluster IP by jsonpath", () => {
    const svc = k("get", "svc");
    expect(svc).toMatch(/cluster-demo\s+ClusterIP\s+10\.\d+\.\d+\.\d+\s+<none>\s+80\/TCP/);
    expect(svc).toMatch(/nodeport-demo\s+NodePort\s+10\.\d+\.\d+\.\d+\s+<none>\s+80:30070\/TCP/);
    expect(svc).toMatch(/headless-demo\s+ClusterIP\s+None/);
    const ep = k("get", "ep", "cluster-demo", "-o", "json");
    const addresses = (JSON.parse(ep) as { subsets: { addresses: { ip: string }[] }[] }).subsets.flatMap((s) => s.addresses.map((a) => a.ip));
    const podIps = k("get", "pods", "-l", "app=hello-kubernetes,!statefulset.kubernetes.io/pod-name", "-o", "jsonpath={.items[*].status.podIP}").trim().split(" ");
    expect(addresses.sort()).toEqual(podIps.filter((ip) => addresses.includes(ip)).sort());
    expect(addresses.length).toBeGreaterThanOrEqual(3);
    expect(k("get", "svc", "cluster-demo", "-o", "jsonpath={.spec.clusterIP}")).toMatch(/^10\.(9[6-9]|1[01]\d)\.\d+\.\d+$/);
  });

  it("curl from a pod reaches a pod by IP, the Service by its cluster IP and by its name", async () => {
    const clusterIp = k("get", "svc", "cluster-demo", "-o", "jsonpath={.spec.clusterIP}");
    const podIp = k("get", "pods", "-l", "app=hello-kubernetes", "-o", "jsonpath={.items[0].status.podIP}");
    const hello = /hello-kubernetes-[a-z0-9-]+/;
    expect(inPod("deploy/client", "curl", "-s", "-m", "3", `http://${podIp}:8080/hostname`)).toMatch(hello);
    expect(inPod("deploy/client", "curl", "-s", "-m", "3", `http://${clusterIp}/hostname`)).toMatch(hello);
    expect(inPod("deploy/client", "curl", "-s", "-m", "3", "http://cluster-demo/hostname")).toMatch(hello);
    expect(inPod("deploy/client", "curl", "-s", "-m", "3", "http://cluster-demo.default.svc.cluster.local/hostname")).toMatch(hello);
  });

  it("every weftd watches the same API: ready, its watches synced, the pods it counts those kubectl lists", async () => {
    const pods = (JSON.parse(k("get", "pods", "-A", "-o", "json")) as { items: unknown[] }).items.length;
    for (const n of status().nodes) {
      expect(readyz(n.netns).status).toBe(200);
      await eventually(`${n.name}'s weftd counts ${pods} pods`, () => metricValue(n.netns, 'weft_kube_objects{resource="pods"}') === pods);
      expect(metricValue(n.netns, 'weft_kube_watch_synced{resource="namespaces"}')).toBe(1);
    }
  });

  it("works with Debian's kubectl 1.20 too", () => {
    if (!existsSync(OLD_KUBECTL)) return void console.warn(`skipped: ${OLD_KUBECTL} is not unpacked (scripts/setup.sh does it)`);
    const old = (...args: string[]) => kubectl(OLD_KUBECTL, ...args);
    const get = old("get", "pods", "-o", "wide");
    expect(get.code).toBe(0);
    expect(get.out).toMatch(/hello-kubernetes-\S+\s+1\/1\s+Running/);
    expect(old("get", "svc", "cluster-demo", "-o", "jsonpath={.spec.type}").out).toBe("ClusterIP");
    expect(old("label", "svc", "cluster-demo", "tier=web").code).toBe(0);
    expect(k("get", "svc", "-l", "tier=web", "-o", "name").trim()).toBe("service/cluster-demo");
  });

  it("its clients survive the API server's restart and an etcd compaction meanwhile: 410, a relist, nothing missed or counted twice", async () => {
    const nodes = status().nodes;
    const namespaces = (): number => (JSON.parse(k("get", "ns", "-o", "json")) as { items: unknown[] }).items.length;
    const before = namespaces();
    const relists = (ns: string): number => metricValue(ns, 'weft_kube_relists_total{resource="namespaces",reason="expired"}') || 0;
    const relistsBefore = nodes.map((n) => relists(n.netns));
    expect(lab("apiserver", "stop", "--signal", "SIGKILL").code).toBe(0);
    // While it is down, another server of the cluster writes (here straight into its etcd, in its layout),
    // and etcd compacts past every revision the clients have seen.
    const etcd = status().etcd;
    const etcdctl = (...args: string[]): string => spawnSync("ip", ["netns", "exec", etcd.netns, "etcdctl", `--endpoints=${etcd.endpoints[0]}`, ...args], { encoding: "utf8" }).stdout;
    const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name: "written-while-down", uid: "00000000-0000-0000-0000-00000000d0wn", creationTimestamp: new Date().toISOString(), labels: { "kubernetes.io/metadata.name": "written-while-down" } }, spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } };
    etcdctl("put", "/registry/namespaces/written-while-down", JSON.stringify(ns));
    const rev = (JSON.parse(etcdctl("get", "/registry/namespaces/written-while-down", "-w", "json")) as { header: { revision: number } }).header.revision;
    etcdctl("compact", String(rev));
    expect(lab("apiserver", "start").code).toBe(0);
    await eventually("kubectl lists the namespace written while the server was down", () => namespaces() === before + 1, 20_000);
    for (const [i, n] of nodes.entries()) {
      await eventually(`${n.name}'s weftd lists again after the 410 and counts it once`, () => metricValue(n.netns, 'weft_kube_objects{resource="namespaces"}') === before + 1 && relists(n.netns) > (relistsBefore[i] ?? 0), 30_000);
      // Ready again once every watch is back (each informer retries on its own backoff).
      await eventually(`${n.name}'s weftd ready again`, () => readyz(n.netns).status === 200, 30_000);
    }
    // The kubelets and the controller manager resumed too: a new pod is scheduled, run and ready.
    const dir = mkdtempSync(join(tmpdir(), "weft-kc-"));
    const pod = join(dir, "pod.yaml");
    writeFileSync(pod, "apiVersion: v1\nkind: Pod\nmetadata: {name: after-restart}\nspec: {containers: [{name: c, image: registry.k8s.io/e2e-test-images/agnhost:2.45, ports: [{containerPort: 8080}]}]}\n");
    try {
      k("apply", "-f", pod);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    k("wait", "--for=condition=Ready", "pod/after-restart", "--timeout=60s");
    k("delete", "pod", "after-restart", "--wait=true");
  }, 240_000); // its own waits add up to more than the default 60 s: a loaded run took longer

  it("deletes them again: the pods stop, their addresses are released, the Services and endpoints go", async () => {
    const netnsBefore = status().nodes.map((n) => n.netns);
    k("delete", "-R", ...examples);
    await eventually("every example pod gone from the API", () => k("get", "pods", "-l", "app in (hello-kubernetes,hello-kubernetes-sts,client)", "-o", "name").trim() === "", 60_000);
    expect(k("get", "svc", "-o", "name").trim().split("\n").filter((l) => /demo/.test(l))).toEqual([]);
    expect(k("get", "ep", "-o", "name").trim().split("\n").filter((l) => /demo/.test(l))).toEqual([]);
    // Their veths are gone from every node's bridge: each has its topology pod's alone (and DNS on one).
    const veths = netnsBefore.map((ns) => (JSON.parse(spawnSync("ip", ["-n", ns, "-j", "link", "show", "type", "veth"], { encoding: "utf8" }).stdout) as { master?: string }[]).filter((l) => l.master === "cni0").length);
    expect(veths.reduce((a, b) => a + b, 0)).toBe(status().nodes.length + 1);
  });
});
