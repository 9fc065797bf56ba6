// Set elements of the policy table written over netlink: keys as the kernel lays out each set type,
// and, in a throwaway network namespace (root only), a label change written as elements is what
// `nft -j list set` shows afterwards, equal to a compile of the changed cluster; a write the kernel
// refuses changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRoot, NetnsPool, netnsPath, run } from "../test/helpers/netns.js";
import type { Exec } from "./exec.js";
import { elementKey, elementsScript, NetlinkElementWriter } from "./policy-elements.js";
import { PolicyApplyError, PolicyTable } from "./policy-table.js";
import { compile } from "./policy/compile.js";
import type { CompiledRuleset } from "./policy/nft-ruleset.js";
import { podDelta } from "./policy/pod-delta.js";
import { podIps, upstreamCluster } from "./policy/truth-table.fixture.js";
import type { Cluster, NetworkPolicy } from "./policy/types.js";

describe("policy set element keys", () => {
  it("lays out addresses and named-port elements as their set types say", () => {
    expect(elementKey("ipv4_addr", "10.244.1.5")).toEqual(Buffer.from([10, 244, 1, 5]));
    expect(elementKey("ipv6_addr", "fd00::5")).toHaveLength(16);
    expect(elementKey("ipv4_addr . inet_proto . inet_service", "10.244.1.5 . udp . 53")).toEqual(Buffer.from([10, 244, 1, 5, 17, 0, 0, 0, 0, 53, 0, 0]));
    expect(elementKey("ipv6_addr . inet_proto . inet_service", "fd00::5 . sctp . 80")).toHaveLength(24);
    expect(() => elementKey("ipv4_addr . inet_proto . inet_service", "10.244.1.5 . tcp")).toThrow(/2 fields for a key of 3/);
    expect(() => elementKey("ipv4_addr . inet_proto . inet_service", "10.244.1.5 . gre? . 1")).toThrow(/protocol "gre\?" is not known/);
    expect(() => elementKey("ether_addr", "0a:58:0a:f4:01:05")).toThrow(/field type ether_addr is not one/);
  });

  it("writes the same changes as nft text, deletions first", () => {
    expect(elementsScript([{ set: "peer-x-v4", type: "ipv4_addr", add: ["10.0.0.2"], remove: ["10.0.0.1", "10.0.0.3"] }])).toBe(
      "delete element inet weft-policy peer-x-v4 { 10.0.0.1, 10.0.0.3 }\nadd element inet weft-policy peer-x-v4 { 10.0.0.2 }\n",
    );
  });
});

const NODE = "node-1";
const policies: NetworkPolicy[] = [
  { metadata: { name: "a-from-role", namespace: "x" }, spec: { podSelector: { matchLabels: { pod: "a" } }, ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: "client" } } }], ports: [{ port: "serve-80-tcp" }] }] } },
  { metadata: { name: "b-from-team", namespace: "x" }, spec: { podSelector: { matchLabels: { pod: "b" } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "t" } } }] }] } },
];

describe.runIf(isRoot())("policy set elements in the kernel", () => {
  const pool = new NetnsPool("pe");
  let ns = "";
  const nft = (args: string[], input?: string): string => run("ip", ["netns", "exec", ns, "nft", ...args], input);
  const exec: Exec = (_cmd, args, input) => nft(args, input);
  /** The elements the kernel lists for a set, as nft writes them ("10.244.1.10", "10.244.1.10 . tcp . 80"). */
  const listed = (set: string): string[] => {
    const out = JSON.parse(nft(["-j", "list", "set", "inet", "weft-policy", set])) as { nftables: { set?: { elem?: unknown[] } }[] };
    const text = (e: unknown): string => (typeof e === "object" && e && "concat" in e ? (e as { concat: unknown[] }).concat.map(String).join(" . ") : String(e));
    return (out.nftables.find((i) => i.set)?.set?.elem ?? []).map(text).sort();
  };
  const cluster = (): Cluster => upstreamCluster(structuredClone(policies));

  let writer: NetlinkElementWriter;
  beforeAll(() => {
    ns = pool.create();
    writer = new NetlinkElementWriter(netnsPath(ns));
  });
  afterAll(() => {
    writer.close();
    pool.cleanup();
  });

  it("a label change, a new pod and a pod going, written over netlink, are what nft lists and what a compile gives", async () => {
    const table = new PolicyTable(exec, undefined, writer);
    let before = cluster();
    let applied: CompiledRuleset = compile(before, NODE);
    expect(await table.apply(applied)).toBe("full");
    const changes: ((c: Cluster) => void)[] = [
      (c) => (c.pods.find((p) => p.namespace === "y" && p.name === "b")!.labels.role = "client"),
      (c) => c.pods.push({ namespace: "z", name: "d", labels: { role: "client", pod: "a" }, ips: ["10.244.3.20", "fd00:10:244:3::20"], node: NODE, ports: [{ containerPort: 8080, name: "serve-80-tcp", protocol: "TCP" }] }),
      (c) => (c.pods = c.pods.filter((p) => !(p.namespace === "x" && p.name === "a"))),
      (c) => (c.namespaces.find((n) => n.name === "z")!.labels.team = "t"),
    ];
    for (const change of changes) {
      const after = structuredClone(before);
      change(after);
      const delta = podDelta(before, after, applied);
      if (delta.kind !== "elements") throw new Error(delta.reason);
      expect(await table.applyElements(applied, delta.next, delta.changes)).toBe("elements");
      const full = compile(after, NODE);
      for (const s of full.sets) expect(listed(s.name), s.name).toEqual([...s.elements].sort());
      [before, applied] = [after, delta.next];
    }
    expect(listed("local-pods-v4")).toContain("10.244.3.20");
    expect(listed("port-serve-80-tcp-v6")).toContain("fd00:10:244:3::20 . tcp . 8080");
    expect(listed("local-pods-v4")).not.toContain(podIps("x", "a")[0]);
    expect(await table.drifted()).toBe(false);
  });

  it("a batch the kernel refuses (an element removed by hand) changes no set: it is one transaction", async () => {
    const table = new PolicyTable(exec, undefined, writer);
    const before = cluster();
    const applied = compile(before, NODE);
    await table.apply(applied, true);
    const after = structuredClone(before);
    // y/b gains role=client (an addition) and x/c leaves the local pods (a removal, made impossible by hand).
    after.pods.find((p) => p.namespace === "y" && p.name === "b")!.labels.role = "client";
    after.pods = after.pods.filter((p) => !(p.namespace === "x" && p.name === "c"));
    const gone = podIps("x", "c")[0];
    nft(["delete", "element", "inet", "weft-policy", "local-pods-v4", `{ ${gone} }`]);
    const peers = applied.sets.filter((s) => s.name.startsWith("peer-")).map((s) => [s.name, listed(s.name)] as const);
    const delta = podDelta(before, after, applied);
    if (delta.kind !== "elements") throw new Error(delta.reason);
    const refused = table.applyElements(applied, delta.next, delta.changes);
    await expect(refused).rejects.toBeInstanceOf(PolicyApplyError);
    await expect(refused).rejects.toThrow(/ENOENT/);
    for (const [name, elements] of peers) expect(listed(name), name).toEqual(elements); // the addition was not committed either
  });
});
