// buildCluster: the API's objects and the plugin's records → the model's Cluster.
import { describe, expect, it } from "vitest";
import type { RecordedPod } from "../ipam/pod-ip-store.js";
import type { Node, Pod } from "./kube-watches.js";
import { buildCluster, ownNodeName } from "./policy-cluster.js";

const pod = (ns: string, name: string, extra: Partial<Pod> = {}): Pod => ({ metadata: { namespace: ns, name, labels: { app: name } }, spec: { nodeName: "node1" }, ...extra });
const node = (name: string, ip: string): Node => ({ metadata: { name, labels: { zone: "a" } }, status: { addresses: [{ type: "InternalIP", address: ip }, { type: "Hostname", address: name }] } });
const record = (ns: string | undefined, name: string | undefined, ipv4: string): RecordedPod => ({ containerId: `c-${name ?? ipv4}`, ifname: "eth0", ipv4, allocatedAt: new Date().toISOString(), ...(ns ? { podNamespace: ns } : {}), ...(name ? { podName: name } : {}) });
const empty = { pods: [], namespaces: [], nodes: [], networkPolicies: [], clusterNetworkPolicies: [], records: [], nodeName: "node1" };

describe("buildCluster", () => {
  it("takes a pod's addresses from status.podIPs, its ports from its containers, hostNetwork, and drops ended pods", () => {
    const { cluster } = buildCluster({
      ...empty,
      pods: [
        pod("x", "a", { spec: { nodeName: "node1", containers: [{ ports: [{ containerPort: 80, name: "http" }, { containerPort: 53, protocol: "UDP" }] }] }, status: { podIPs: [{ ip: "10.244.1.2" }, { ip: "fd00::2" }] } }),
        pod("x", "h", { spec: { nodeName: "node2", hostNetwork: true }, status: { podIP: "192.168.56.12" } }),
        pod("x", "done", { status: { phase: "Succeeded", podIP: "10.244.1.9" } }),
      ],
    });
    expect(cluster.pods).toEqual([
      { namespace: "x", name: "a", labels: { app: "a" }, ips: ["10.244.1.2", "fd00::2"], node: "node1", ports: [{ containerPort: 80, name: "http", protocol: "TCP" }, { containerPort: 53, protocol: "UDP" }] },
      { namespace: "x", name: "h", labels: { app: "h" }, ips: ["192.168.56.12"], node: "node2", ports: [], hostNetwork: true },
    ]);
  });

  it("knows a new pod's address from the plugin's record before its kubelet writes status", () => {
    const { cluster, unknownRecords } = buildCluster({ ...empty, pods: [pod("x", "new", { spec: {} })], records: [record("x", "new", "10.244.1.7")] });
    expect(cluster.pods[0]).toMatchObject({ name: "new", ips: ["10.244.1.7"], node: "node1" });
    expect(unknownRecords).toEqual([]);
  });

  it("status wins over the record once written; records naming no pod it holds are reported", () => {
    const { cluster, unknownRecords } = buildCluster({ ...empty, pods: [pod("x", "a", { status: { podIP: "10.244.1.2" } })], records: [record("x", "a", "10.244.1.2"), record("x", "gone", "10.244.1.3"), record(undefined, undefined, "10.244.1.4")] });
    expect(cluster.pods[0]?.ips).toEqual(["10.244.1.2"]);
    expect(unknownRecords.map((r) => r.ipv4)).toEqual(["10.244.1.3", "10.244.1.4"]);
  });

  it("gives the same model object for an API object not replaced since, and a new one when it or its record changed", () => {
    const a = pod("x", "a", { spec: {} });
    const b = pod("x", "b", { status: { podIP: "10.244.1.3" } });
    const build = (pods: Pod[], records: RecordedPod[] = []) => buildCluster({ ...empty, pods, records }).cluster.pods;
    const [a1, b1] = build([a, b]);
    const [a2, b2] = build([a, b], [record("x", "a", "10.244.1.7")]);
    expect(b2).toBe(b1);
    expect(a2).not.toBe(a1);
    expect(a2).toMatchObject({ ips: ["10.244.1.7"], node: "node1" });
    const relabelled = { ...b, metadata: { ...b.metadata, labels: { app: "c" } } };
    const [, b3] = build([a, relabelled], [record("x", "a", "10.244.1.7")]);
    expect(b3).not.toBe(b1);
    expect(b3?.labels).toEqual({ app: "c" });
    expect(b1?.labels).toEqual({ app: "b" }); // the earlier snapshot is as it was
  });

  it("namespaces always carry kubernetes.io/metadata.name; nodes their Internal/External addresses; a NetworkPolicy without podSelector selects all", () => {
    const { cluster } = buildCluster({
      ...empty,
      namespaces: [{ metadata: { name: "x", labels: { team: "tx" } } }],
      nodes: [node("node1", "192.168.56.11")],
      networkPolicies: [{ metadata: { name: "p", namespace: "x" }, spec: { policyTypes: ["Ingress"] } }],
      clusterNetworkPolicies: [
        { metadata: { name: "ok" }, spec: { tier: "Admin", priority: 5, subject: { namespaces: {} }, ingress: [] } },
        { metadata: { name: "no-tier" }, spec: { priority: 5, subject: { namespaces: {} } } },
      ],
    });
    expect(cluster.namespaces).toEqual([{ name: "x", labels: { "kubernetes.io/metadata.name": "x", team: "tx" } }]);
    expect(cluster.nodes).toEqual([{ name: "node1", labels: { zone: "a" }, ips: ["192.168.56.11"] }]);
    expect(cluster.networkPolicies[0]?.spec.podSelector).toEqual({});
    expect(cluster.clusterNetworkPolicies.map((c) => c.metadata.name)).toEqual(["ok"]);
  });

  it("turns drop logging on for a namespace annotated weft.dev/policy-log: \"true\" only", () => {
    const ns = (name: string, value?: string) => ({ metadata: { name, ...(value !== undefined ? { annotations: { "weft.dev/policy-log": value, other: "true" } } : {}) } });
    const { cluster } = buildCluster({ ...empty, namespaces: [ns("on", "true"), ns("off", "false"), ns("yes", "yes"), ns("plain")] });
    expect(cluster.namespaces.map((n) => [n.name, n.policyLog ?? false])).toEqual([["on", true], ["off", false], ["yes", false], ["plain", false]]);
    expect(cluster.namespaces[1]).not.toHaveProperty("policyLog");
  });
});

describe("ownNodeName", () => {
  const nodes = [node("node1", "192.168.56.11"), node("node2", "192.168.56.12")];
  it("is the flag's, else the Node with one of this node's underlay addresses, else unknown", () => {
    expect(ownNodeName("n9", nodes, ["192.168.56.12"])).toBe("n9");
    expect(ownNodeName(undefined, nodes, ["192.168.56.12"])).toBe("node2");
    expect(ownNodeName(undefined, nodes, ["10.0.0.1"])).toBeUndefined();
    // Nodes not readable: the node the API binds this node's recorded pods to.
    expect(ownNodeName(undefined, [], ["10.0.0.1"], [pod("x", "a")], [record("x", "a", "10.244.1.2")])).toBe("node1");
  });
});
