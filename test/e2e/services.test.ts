// Services on the weft network, per proxy mode, on a 3-node lab built from the walkthrough's
// examples: ClusterIP from pods, nodes and outside, NodePort and LoadBalancer from the WAN, DNS,
// endpoint changes, affinity, traffic policies, load spreading, and weft's side of the contract.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LAB, useLab } from "../helpers/lab.js";
import { chiSquare, curl, EXAMPLES, FIXTURES, iptablesSave, kube, nftList, readyEndpoints, within } from "../helpers/services.js";

const WAN_IP = "203.0.113.10";
const NODE_IPS = ["192.168.56.11", "192.168.56.12", "192.168.56.13"];

describe.each(["iptables", "nftables"])("Services with weft-proxy in %s mode", (mode) => {
  const { lab, status, stateDir } = useLab(`svc${mode[0]}`, ["--nodes", "3", "--pods-per-node", "1", "--proxy-mode", mode]);
  const k = kube(lab);
  // Node namespaces, read once: a poll loop must not pay a `weft-lab status` start per check.
  let nodeNetns: string[] | undefined;
  const rules = (node: number): string => (mode === "iptables" ? iptablesSave : nftList)((nodeNetns ??= status().nodes.map((n) => n.netns))[node]!);
  // An endpoint in the rules: "dnat to IP:8080" (iptables, nft endpoint chains) or "IP . 8080" (nft maps).
  const hasEndpoint = (text: string, ip: string): boolean => text.includes(`${ip}:8080`) || text.includes(`${ip} . 8080`);

  it("applies the examples and a client per node; pods are spread and ready", async () => {
    expect(k.must("apply", "-f", EXAMPLES, "-R")).toContain("service/cluster-demo created");
    k.must("apply", "-f", `${FIXTURES}/clients.yaml`);
    k.must("apply", "-f", `${FIXTURES}/policies.yaml`);
    await within(10_000, "hello endpoints", () => k.endpoints("cluster-demo").length === 3);
    const hello = k.list("pods").filter((p) => p.metadata.name.startsWith("hello-kubernetes-") && !/-\d$/.test(p.metadata.name));
    expect(new Set(hello.map((p) => p.spec.nodeName))).toEqual(new Set(["node1", "node2", "node3"]));
    const svc = k.svc("cluster-demo");
    expect(svc.spec.clusterIP).toMatch(/^10\.(9[6-9]|10\d|11[01])\./);
    expect(k.svc("nodeport-demo").spec.ports?.[0]?.nodePort).toBe(30070);
    await within(10_000, "all pods ready", () => k.list("ep").every((e) => (e.subsets ?? []).length > 0));
  });

  it("ClusterIP by address and by DNS name from a pod on every node", () => {
    const ip = k.svc("cluster-demo").spec.clusterIP!;
    for (const n of [1, 2, 3]) {
      expect(k.exec(`client-node${n}`, ...curl(`http://${ip}/hostname`))).toMatch(/^hello-kubernetes-/);
      expect(k.exec(`client-node${n}`, ...curl("http://cluster-demo/hostname"))).toMatch(/^hello-kubernetes-/);
      expect(k.exec(`client-node${n}`, ...curl("http://cluster-demo.default.svc.cluster.local/hostname"))).toMatch(/^hello-kubernetes-/);
    }
  });

  it("ClusterIP from every node, and from outside the cluster through a route via a node", () => {
    const ip = k.svc("cluster-demo").spec.clusterIP!;
    for (const n of ["node1", "node2", "node3"]) expect(k.exec(n, ...curl(`http://${ip}/hostname`))).toMatch(/^hello-kubernetes-/);
    k.exec("router", "ip", "route", "replace", "10.96.0.0/12", "via", NODE_IPS[0]!);
    expect(k.exec("wan", ...curl(`http://${ip}/hostname`))).toMatch(/^hello-kubernetes-/);
  });

  it("NodePort from the WAN on every node's address; LoadBalancer address from the WAN", () => {
    for (const nodeIp of NODE_IPS) expect(k.exec("wan", ...curl(`http://${nodeIp}:30070/hostname`))).toMatch(/^hello-kubernetes-/);
    const lb = k.svc("loadbalancer-demo").status?.loadBalancer?.ingress?.[0]?.ip;
    expect(lb).toBe("192.168.56.200");
    expect(k.exec("wan", ...curl(`http://${lb}/hostname`))).toMatch(/^hello-kubernetes-/);
  });

  it("headless DNS answers exactly the ready pod IPs; StatefulSet pods have their own names; ExternalName is a CNAME", () => {
    const sts = k.list("pods").filter((p) => /^hello-kubernetes-\d$/.test(p.metadata.name));
    expect(sts).toHaveLength(3);
    const answer = k.exec("client-node1", "dig", "+short", "headless-demo.default.svc.cluster.local").split("\n").sort();
    expect(answer).toEqual(sts.map((p) => p.status!.podIP!).sort());
    expect(k.exec("client-node2", "dig", "+short", "hello-kubernetes-0.headless-demo.default.svc.cluster.local")).toBe(k.podIp("hello-kubernetes-0"));
    expect(k.exec("client-node2", "nslookup", "hello-kubernetes-0.headless-demo")).toContain(k.podIp("hello-kubernetes-0"));
    expect(k.exec("client-node3", "dig", "+short", "CNAME", "externalname-demo.default.svc.cluster.local")).toBe("hello.example.com.");
    expect(k.exec("client-node3", "dig", "+short", "SRV", "_http._tcp.cluster-demo.default.svc.cluster.local")).toBe("0 100 80 cluster-demo.default.svc.cluster.local.");
    expect(k.exec("client-node3", "dig", "+short", "-x", "10.96.0.10")).toBe("kube-dns.kube-system.svc.cluster.local.");
    expect(k.exec("client-node1", "dig", "nothing-here.default.svc.cluster.local")).toContain("status: NXDOMAIN");
  });

  it("a deleted pod leaves the endpoints and every node's rules within 1 s; an unready one too", async () => {
    k.must("apply", "-f", `${FIXTURES}/extra-pod.yaml`);
    await within(5_000, "extra pod in the endpoints", () => k.endpoints("cluster-demo").length === 4);
    const ip = k.podIp("extra-hello");
    await within(3_000, "extra pod in the rules", () => [0, 1, 2].every((n) => hasEndpoint(rules(n), ip)));
    k.must("delete", "-f", `${FIXTURES}/extra-pod.yaml`);
    const ms = await within(1_000, "deleted pod gone from endpoints and rules", async () => !(await readyEndpoints(stateDir, "cluster-demo")).includes(ip) && [0, 1, 2].every((n) => !hasEndpoint(rules(n), ip)));
    expect(ms).toBeLessThanOrEqual(1_000);
    expect(k.endpoints("cluster-demo")).not.toContain(ip);
    // Unready: the pod's server stops answering (stopped, not killed, so it can come back).
    const victim = k.list("pods").find((p) => p.metadata.name.startsWith("hello-kubernetes-") && p.spec.nodeName === "node2" && !/-\d$/.test(p.metadata.name))!;
    const victimNetns = `${status().nodes[0]!.netns.slice(0, -"node1".length)}${victim.metadata.name}`;
    for (const p of spawnSync("ip", ["netns", "pids", victimNetns], { encoding: "utf8" }).stdout.split("\n").filter(Boolean)) process.kill(Number(p), "SIGSTOP");
    await within(1_500, "unready pod gone from the endpoints", async () => !(await readyEndpoints(stateDir, "cluster-demo")).includes(victim.status!.podIP!));
    for (const p of spawnSync("ip", ["netns", "pids", victimNetns], { encoding: "utf8" }).stdout.split("\n").filter(Boolean)) process.kill(Number(p), "SIGCONT");
    await within(3_000, "pod ready again", () => k.endpoints("cluster-demo").includes(victim.status!.podIP!));
  });

  it("gRPC through the ClusterIP from a pod and from a node: health, echo, and each new connection to either endpoint", async () => {
    k.must("apply", "-f", `${FIXTURES}/grpc.yaml`);
    await within(10_000, "grpc endpoints", async () => (await readyEndpoints(stateDir, "grpc-demo")).length === 2);
    const probe = (where: string, target: string): { ok: boolean; status?: string; hostname?: string; error?: string } => JSON.parse(k.exec(where, process.execPath, LAB, "agent", "grpc", target) || "{}");
    const fromPod = Array.from({ length: 12 }, () => probe("client-node1", "grpc-demo:9000"));
    for (const r of fromPod) expect(r).toMatchObject({ ok: true, status: "SERVING", hostname: expect.stringMatching(/^grpc-echo-/) });
    // Random choice per connection: 12 connections all on one of 2 endpoints has p = 0.05 %.
    expect(new Set(fromPod.map((r) => r.hostname)).size).toBe(2);
    expect(probe("node3", `${k.svc("grpc-demo").spec.clusterIP}:9000`)).toMatchObject({ ok: true, hostname: expect.stringMatching(/^grpc-echo-/) });
    // 13 probes, each two Node starts of the lab's CLI in turn: 16 s alone, up to 75 s beside the suite's heaviest lab files.
  }, 120_000);

  it("an established connection through a ClusterIP survives a weft-proxy restart on its node, and the rules come back the same", async () => {
    // One keep-alive HTTP connection, a request every 50 ms for 5 s, while node1's proxy restarts.
    const client = `const http=require("node:http");const agent=new http.Agent({keepAlive:true,maxSockets:1});const [host,ms]=process.argv.slice(1);
      const sockets=new Set();let ok=0,fail=0;const end=Date.now()+Number(ms);
      (async()=>{while(Date.now()<end){await new Promise((r)=>{const q=http.get({host,port:80,path:"/hostname",agent,timeout:1000},(res)=>{sockets.add(res.socket.localPort);res.resume();res.on("end",()=>{ok++;r();});});q.on("timeout",()=>q.destroy());q.on("error",()=>{fail++;r();});});await new Promise((r)=>setTimeout(r,50));}
      agent.destroy();console.log(JSON.stringify({ok,fail,sockets:sockets.size}));})();`;
    const normalize = (text: string): string[] => text.split("\n").filter((l) => l && !l.startsWith("#") && !l.includes("expires")).sort();
    const before = normalize(rules(0));
    const netns = `${status().nodes[0]!.netns.slice(0, -"node1".length)}client-node1`;
    const run = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", client, k.svc("cluster-demo").spec.clusterIP!, "5000"], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    run.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const done = new Promise<void>((r) => run.on("close", () => r()));
    await new Promise((r) => setTimeout(r, 1_000));
    expect(k.must("restart-proxy", "node1")).toMatch(/^weft-proxy on node1: pid \d+ → \d+/);
    await done;
    const r = JSON.parse(out) as { ok: number; fail: number; sockets: number };
    expect(r.fail).toBe(0);
    expect(r.sockets).toBe(1);
    expect(r.ok).toBeGreaterThan(40);
    const syncedSinceStart = (): boolean => {
      const log = readFileSync(`${stateDir}/node1/weft-proxy.log`, "utf8");
      return log.slice(log.lastIndexOf('"proxy started"')).includes('"rules synced"');
    };
    await within(3_000, "restarted proxy has synced", syncedSinceStart);
    expect(normalize(rules(0))).toEqual(before);
  });

  it("sessionAffinity ClientIP keeps a client on one endpoint", () => {
    const seen = new Set(Array.from({ length: 12 }, () => k.exec("client-node2", ...curl("http://sticky-demo/hostname"))));
    expect(seen.size).toBe(1);
    expect([...seen][0]).toMatch(/^hello-kubernetes-/);
  });

  it("externalTrafficPolicy Local keeps the WAN client's address and is not served by nodes without a local endpoint", () => {
    expect(k.exec("wan", ...curl(`http://${NODE_IPS[0]}:30075/clientip`))).toMatch(new RegExp(`^${WAN_IP.replace(/\./g, "\\.")}:\\d+$`));
    expect(k.exec("wan", ...curl(`http://${NODE_IPS[1]}:30075/clientip`, 1))).toBe("");
    // Cluster policy for comparison: the node masquerades.
    expect(k.exec("wan", ...curl(`http://${NODE_IPS[1]}:30070/clientip`))).not.toContain(WAN_IP);
  });

  it("spreads 300 requests over the 3 endpoints within a chi-square bound", () => {
    const out = k.exec("client-node1", "sh", "-c", "for i in $(seq 300); do curl -s -m 2 http://cluster-demo/hostname; echo; done");
    const counts = new Map<string, number>();
    for (const h of out.split("\n").filter(Boolean)) counts.set(h, (counts.get(h) ?? 0) + 1);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(300);
    expect(counts.size).toBe(3);
    // 2 degrees of freedom, p = 0.001: 13.82.
    expect(chiSquare([...counts.values()])).toBeLessThan(13.82);
  });

  it("weft's side: same-node pod→Service (bridge netfilter), hairpin, pod source kept, hostPort beside NodePort", () => {
    const localIp = k.podIp("local-web");
    expect(k.exec("client-node1", ...curl(`http://${k.svc("local-demo").spec.clusterIP}/hostname`))).toBe("local-web");
    expect(k.exec("client-node1", ...curl("http://hairpin-demo/hostname"))).toBe("client-node1");
    expect(k.exec("client-node2", ...curl("http://local-demo/clientip")).split(":")[0]).toBe(k.podIp("client-node2"));
    expect(localIp).not.toBe("");
    expect(k.exec("wan", ...curl(`http://${NODE_IPS[0]}:30080/`))).toContain("node1-pod1");
    expect(k.exec("wan", ...curl(`http://${NODE_IPS[0]}:30070/hostname`))).toMatch(/^hello-kubernetes-/);
  });
});
