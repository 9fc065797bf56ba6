// The userspace proxy mode, LoadBalancer failover, ipvs detection, and `weft-lab apply`'s handling of
// malformed manifests (each refused with its message, nothing of the apply done).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { useLab } from "../helpers/lab.js";
import { curl, EXAMPLES, FIXTURES, kube, within } from "../helpers/services.js";

const NODE_IPS = ["192.168.56.11", "192.168.56.12", "192.168.56.13"];
const PROXY = resolve(import.meta.dirname, "../../dist/lab/weft-proxy.cjs");

describe("weft-proxy in userspace mode, LoadBalancer failover and malformed manifests", () => {
  const { lab, status } = useLab("svcu", ["--nodes", "3", "--pods-per-node", "0", "--proxy-mode", "userspace"]);
  const k = kube(lab);
  const tmp = mkdtempSync(join(tmpdir(), "weft-manifests-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("serves ClusterIP (TCP and UDP) to pods and NodePort to the WAN through its own forwarders", async () => {
    k.must("apply", "-f", EXAMPLES, "-R");
    k.must("apply", "-f", `${FIXTURES}/clients.yaml`);
    k.must("apply", "-f", `${FIXTURES}/policies.yaml`);
    await within(10_000, "endpoints", () => k.endpoints("cluster-demo").length === 3 && k.endpoints("local-demo").length === 1);
    await within(5_000, "portals", () => k.exec("client-node2", ...curl("http://cluster-demo/hostname", 1)).startsWith("hello-kubernetes-"));
    // The forwarder on the client's node opens the connection: the endpoint sees a node address.
    expect(k.exec("client-node2", ...curl("http://local-demo/clientip")).split(":")[0]).not.toBe(k.podIp("client-node2"));
    const udpIp = k.svc("local-demo").spec.clusterIP!;
    expect(k.exec("client-node3", "sh", "-c", `echo hi | socat -T1 - UDP4:${udpIp}:81`)).toBe("local-web");
    for (const ip of NODE_IPS) expect(k.exec("wan", ...curl(`http://${ip}:30070/hostname`))).toMatch(/^hello-kubernetes-/);
    expect(k.exec("node1", "iptables-save", "-t", "nat")).toMatch(/-A KUBE-PORTALS-CONTAINER -d \S+ -p tcp -m tcp --dport 80 .* -j REDIRECT --to-ports \d+/);
  });

  it("moves a LoadBalancer address to another node within 2 s when its node goes down", async () => {
    const lb = k.svc("loadbalancer-demo").status!.loadBalancer!.ingress![0]!.ip;
    await within(5_000, "LB reachable", () => k.exec("wan", ...curl(`http://${lb}/hostname`, 1)).startsWith("hello-kubernetes-"));
    const holders = (): string[] => status().nodes.filter((n) => spawnSync("ip", ["-n", n.netns, "-j", "addr", "show", "dev", "eth0"], { encoding: "utf8" }).stdout.includes(`"${lb}"`)).map((n) => n.name);
    expect(holders()).toHaveLength(1);
    const owner = holders()[0]!;
    const prefix = status().nodes[0]!.netns.slice(0, -"node1".length);
    // The node's link to the fabric goes down: it is gone for everyone else.
    spawnSync("ip", ["-n", `${prefix}fabric`, "link", "set", `${prefix}${owner}`, "down"]);
    try {
      // curl straight in the WAN namespace, not through the lab's CLI: each poll then costs the request, not
      // a Node start as well, and the time measured is the takeover's.
      const wan = `${prefix}wan`;
      const fromWan = (): string => spawnSync("ip", ["netns", "exec", wan, ...curl(`http://${lb}/hostname`, 0.3)], { encoding: "utf8" }).stdout;
      const ms = await within(2_000, "LB answered through another node", () => fromWan().startsWith("hello-kubernetes-"));
      expect(ms).toBeLessThanOrEqual(2_000);
      expect(holders().filter((n) => n !== owner)).toHaveLength(1);
    } finally {
      spawnSync("ip", ["-n", `${prefix}fabric`, "link", "set", `${prefix}${owner}`, "up"]);
    }
    await within(3_000, "one holder again", () => holders().length === 1);
  });

  const bad: [string, string, RegExp][] = [
    ["port not a number", "apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {selector: {a: b}, ports: [{port: abc}]}", /Service "bad" .* is invalid: spec\.ports\[0\]\.port: Invalid value: "abc": must be integer/],
    ["unknown service type", "apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {type: Foo, ports: [{port: 80}]}", /spec\.type: Invalid value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"/],
    ["cluster IP out of range", "apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {clusterIP: 10.0.0.5, ports: [{port: 80}]}", /spec\.clusterIP: Invalid value: "10\.0\.0\.5": provided IP is not in the valid range\. The range of valid IPs is 10\.96\.0\.0\/12/],
    ["cluster IP taken", "apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {clusterIP: 10.96.0.10, ports: [{port: 80}]}", /spec\.clusterIP: Invalid value: "10\.96\.0\.10": provided IP is already allocated/],
    ["node port out of range", "apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {type: NodePort, ports: [{port: 80, nodePort: 80}]}", /spec\.ports\[0\]\.nodePort: Invalid value: 80: provided port is not in the valid range\. The range of valid ports is 30000-32767/],
    ["node port taken", "apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {type: NodePort, ports: [{port: 80, nodePort: 30070}]}", /spec\.ports\[0\]\.nodePort: Invalid value: 30070: provided port is already allocated/],
    ["two ports, one unnamed", "apiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {ports: [{name: a, port: 80}, {port: 81}]}", /spec\.ports\[1\]\.name: Invalid value: "": Required value/],
    ["selector does not match labels", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad}\nspec: {selector: {matchLabels: {app: x}}, template: {metadata: {labels: {app: y}}, spec: {containers: [{name: c, image: i}]}}}", /spec\.template\.metadata\.labels: .*`selector` does not match template `labels`/],
    ["invalid name", "apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec: {containers: [{name: c, image: i}]}", /metadata\.name: Invalid value: "Bad_Name"/],
    ["unsupported kind", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad}\ndata: {a: b}", /kind "ConfigMap" is not supported by the lab/],
    ["wrong apiVersion", "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: bad}\nspec: {}", /apiVersion: Invalid value: "extensions\/v1beta1": Deployment is served as apps\/v1/],
    ["broken YAML", "apiVersion: v1\nkind: Service\nmetadata: {name: bad\n", /document 1: YAML:/],
    ["a valid document before an invalid one", "apiVersion: v1\nkind: Service\nmetadata: {name: good-one}\nspec: {selector: {a: b}, ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: bad}\nspec: {ports: [{port: 70000}]}", /Service "bad" .*spec\.ports\[0\]\.port: Invalid value: 70000: must be between 1 and 65535, inclusive/],
  ];

  it.each(bad)("refuses a manifest with %s and leaves the lab unchanged", (_name, yaml, message) => {
    const before = ["pods", "svc", "ep"].map((r) => k.must("get", r, "-A", "-o", "json"));
    const file = join(tmp, "bad.yaml");
    writeFileSync(file, yaml);
    const r = lab("apply", "-f", file);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message);
    expect(["pods", "svc", "ep"].map((res) => k.must("get", res, "-A", "-o", "json"))).toEqual(before);
  });

  it("names a field the lab does not model in a warning and applies the rest", () => {
    const file = join(tmp, "warn.yaml");
    writeFileSync(file, "apiVersion: v1\nkind: Service\nmetadata: {name: warned}\nspec: {selector: {a: b}, ports: [{port: 80}], externalIPs: [1.2.3.4]}\n");
    const r = lab("apply", "-f", file);
    expect(r.code).toBe(0);
    expect(r.err).toContain("field spec.externalIPs is not modelled by the lab and is ignored");
    expect(k.svc("warned").spec.clusterIP).toMatch(/^10\./);
  });
});

describe("weft-proxy --proxy-mode ipvs", () => {
  it("refuses to start on a kernel without IP_VS, naming the feature and the modes that work", () => {
    const ns = `wipvs${process.pid}`;
    spawnSync("ip", ["netns", "add", ns]);
    try {
      const r = spawnSync("ip", ["netns", "exec", ns, process.execPath, PROXY, "--node-name", "n", "--proxy-mode", "ipvs", "--cluster-state", "/nonexistent"], { encoding: "utf8", env: { PATH: process.env.PATH } });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/IP Virtual Server \(CONFIG_IP_VS, module ip_vs\).*--proxy-mode iptables \(the default\), nftables or userspace/);
    } finally {
      spawnSync("ip", ["netns", "del", ns]);
    }
  });
});
