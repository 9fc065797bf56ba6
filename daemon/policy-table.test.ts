// PolicyTable: whole first, then diffs or a pod change's set elements; a failure forgets the kernel's state (next write whole);
// drift found from the listing's shape; the counters' decoration; strict mode's flow judgement.
import { describe, expect, it } from "vitest";
import type { Exec } from "./exec.js";
import { withPolicyCounters } from "./policy-counters.js";
import { parseConntrack, strictChanges } from "./policy-strict.js";
import { PolicyApplyError, PolicyTable, shapeOf, shapeOfListing } from "./policy-table.js";
import { compile } from "./policy/compile.js";
import { podDelta, type ElementChange } from "./policy/pod-delta.js";
import type { Cluster } from "./policy/types.js";

const cluster = (labels: Record<string, string>): Cluster => ({
  namespaces: [{ name: "x", labels: { "kubernetes.io/metadata.name": "x" } }],
  nodes: [],
  pods: [
    { namespace: "x", name: "a", labels: { app: "a" }, ips: ["10.244.1.2"], node: "node1", ports: [] },
    { namespace: "x", name: "b", labels, ips: ["10.244.2.2"], node: "node2", ports: [] },
  ],
  networkPolicies: [{ metadata: { name: "from-client", namespace: "x" }, spec: { podSelector: { matchLabels: { app: "a" } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: "client" } } }] }] } }],
  clusterNetworkPolicies: [],
});

function recorder(fail: (script: string) => boolean = () => false): { exec: Exec; scripts: string[] } {
  const scripts: string[] = [];
  return {
    scripts,
    exec: (_cmd, args, input) => {
      if (args[0] === "-f") {
        scripts.push(input ?? "");
        if (fail(input ?? "")) throw Object.assign(new Error("nft failed"), { stderr: "Error: Could not process rule: No such file or directory" });
      }
      return "";
    },
  };
}

describe("PolicyTable", () => {
  it("writes the whole table first, then only the elements a label change moves, and nothing when nothing changed", async () => {
    const { exec, scripts } = recorder();
    const t = new PolicyTable(exec, undefined);
    expect(await t.apply(compile(cluster({ app: "b" }), "node1"))).toBe("full");
    expect(scripts[0]).toMatch(/^table inet weft-policy\ndelete table inet weft-policy\ntable inet weft-policy \{/);
    expect(await t.apply(compile(cluster({ app: "b", role: "client" }), "node1"))).toBe("diff");
    expect(scripts[1]).toMatch(/^add element inet weft-policy peer-\w+-v4 \{ 10\.244\.2\.2 \}\n$/);
    expect(await t.apply(compile(cluster({ app: "b", role: "client" }), "node1"))).toBe("none");
    expect(scripts).toHaveLength(2);
  });

  it("after a failed transaction the next write is whole again", async () => {
    let failNext = false;
    const { exec, scripts } = recorder(() => failNext);
    const t = new PolicyTable(exec, undefined);
    await t.apply(compile(cluster({ app: "b" }), "node1"));
    failNext = true;
    await expect(t.apply(compile(cluster({ role: "client" }), "node1"))).rejects.toBeInstanceOf(PolicyApplyError);
    failNext = false;
    expect(await t.apply(compile(cluster({ role: "client" }), "node1"))).toBe("full");
    expect(scripts.at(-1)).toMatch(/^table inet weft-policy\ndelete table/);
  });

  it("writes a pod change's set elements with the element writer, and the next diff starts from them", async () => {
    const { exec, scripts } = recorder();
    const written: ElementChange[][] = [];
    const t = new PolicyTable(exec, undefined, { write: (changes) => void written.push(changes), close: () => {} });
    const before = cluster({ app: "b" });
    const applied = compile(before, "node1");
    await t.apply(applied);
    const after = cluster({ app: "b", role: "client" });
    const delta = podDelta(before, after, applied);
    if (delta.kind !== "elements") throw new Error(delta.reason);
    expect(await t.applyElements(applied, delta.next, delta.changes)).toBe("elements");
    expect(written).toEqual([[{ set: expect.stringMatching(/^peer-\w+-v4$/), type: "ipv4_addr", add: ["10.244.2.2"], remove: [] }]]);
    expect(scripts).toHaveLength(1); // no nft for the elements
    const same = compile(after, "node1");
    expect(await t.apply(same)).toBe("none");
    // From something else than what the kernel holds: refused, nothing written.
    await expect(t.applyElements(applied, delta.next, delta.changes)).rejects.toThrow(/not the one last applied/);
    // An apply that wrote nothing still holds what it was given: the next pod change starts from it.
    const back = podDelta(after, before, same);
    if (back.kind !== "elements") throw new Error(back.reason);
    expect(await t.applyElements(same, back.next, back.changes)).toBe("elements");
    expect(written).toHaveLength(2);
  });

  it("a failed element write leaves what is known of the kernel as it was (one transaction); without a writer, nft writes them", async () => {
    const { exec, scripts } = recorder();
    const failing = {
      write: (): void => {
        throw new Error("change elements of nftables sets inet weft-policy peer-x: ENOENT");
      },
      close: () => {},
    };
    const t = new PolicyTable(exec, undefined, failing);
    const before = cluster({ app: "b" });
    const applied = compile(before, "node1");
    await t.apply(applied);
    const delta = podDelta(before, cluster({ role: "client" }), applied);
    if (delta.kind !== "elements") throw new Error(delta.reason);
    await expect(t.applyElements(applied, delta.next, delta.changes)).rejects.toThrow(/set elements could not be written to table inet weft-policy: .*ENOENT/);
    expect(await t.apply(delta.next)).toBe("diff"); // not whole: the kernel still holds `applied`
    const viaNft = new PolicyTable(exec, undefined);
    await viaNft.apply(applied);
    expect(await viaNft.applyElements(applied, delta.next, delta.changes)).toBe("elements");
    expect(scripts.at(-1)).toBe(scripts.at(-3)); // the same element lines as the diff's
  });

  it("finds drift: the listing's sets and chains against what was applied", async () => {
    const c = compile(cluster({ app: "b" }), "node1");
    const listing = (dropRule: boolean): string =>
      JSON.stringify({
        nftables: [
          { metainfo: {} },
          ...c.sets.map((s) => ({ set: { name: s.name, table: "weft-policy", ...(s.elements.length ? { elem: s.elements } : {}) } })),
          ...c.chains.map((ch) => ({ chain: { name: ch.name, table: "weft-policy" } })),
          ...c.chains.flatMap((ch) => ch.rules.slice(dropRule && ch.name === "forward" ? 1 : 0).map(() => ({ rule: { chain: ch.name, table: "weft-policy" } }))),
        ],
      });
    expect(shapeOfListing(listing(false))).toBe(shapeOf(c));
    let answer = listing(false);
    const t = new PolicyTable((_cmd, args) => (args[0] === "-j" ? answer : ""), undefined);
    expect(await t.drifted()).toBe(false); // nothing applied yet
    await t.apply(c);
    expect(await t.drifted()).toBe(false);
    answer = listing(true);
    expect(await t.drifted()).toBe(true);
  });
});

describe("per-policy counters", () => {
  it("every policy rule counts into its policy's counter, and isolation drops into the isolating policy's", () => {
    const c = compile(cluster({ app: "b", role: "client" }), "node1");
    const d = withPolicyCounters(c, cluster({ app: "b", role: "client" }));
    const rules = d.chains.flatMap((ch) => ch.rules);
    expect(rules.filter((r) => r.includes('comment "np x/from-client ingress[0]"'))[0]).toMatch(/counter name "pc-accepted-\w{12}" return comment/);
    expect(rules.some((r) => /ip daddr @subject-\w+-v4 counter name "pc-dropped-\w{12}" drop comment "isolated by np x\/from-client"/.test(r))).toBe(true);
    expect(d.counters).toHaveLength(2);
  });
});

describe("--policy-strict", () => {
  const text = [
    "tcp      6 431999 ESTABLISHED src=10.244.2.2 dst=10.96.0.10 sport=40000 dport=80 src=10.244.1.2 dst=10.244.2.2 sport=8080 dport=40000 [ASSURED] mark=0 use=1",
    "udp      17 20 src=10.244.1.2 dst=10.244.2.2 sport=5000 dport=53 src=10.244.2.2 dst=10.244.1.2 sport=53 dport=5000 mark=0 use=1",
    "icmp     1 29 src=10.244.1.2 dst=10.244.2.2 type=8 code=0 id=1 src=10.244.2.2 dst=10.244.1.2 type=0 code=0 id=1 mark=0 use=1",
  ].join("\n");

  it("parses conntrack's listing and judges each flow by the pod it reaches (after DNAT): the denied are cut, the cut that are allowed again resume", () => {
    const flows = parseConntrack(text);
    expect(flows).toHaveLength(2);
    expect(flows[0]).toEqual({ protocol: "TCP", src: "10.244.2.2", dst: "10.96.0.10", sport: 40000, dport: 80, replySrc: "10.244.1.2", replySport: 8080, cut: false });
    // b without role=client may not reach a: its Service flow is cut; a's own egress is not isolated.
    expect(strictChanges(cluster({ app: "b" }), "node1", flows)).toEqual({ cut: [flows[0]], resume: [] });
    expect(strictChanges(cluster({ role: "client" }), "node1", flows)).toEqual({ cut: [], resume: [] });
    const marked = parseConntrack(text.replace("mark=0", `mark=${0x01000005}`));
    expect(marked[0]!.cut).toBe(true);
    expect(strictChanges(cluster({ app: "b" }), "node1", marked)).toEqual({ cut: [], resume: [] }); // cut already
    expect(strictChanges(cluster({ role: "client" }), "node1", marked)).toEqual({ cut: [], resume: [marked[0]] });
  });

  it("leaves alone a flow the node opened (a kubelet probe from the bridge's gateway), as the table never judges it", () => {
    const probe = parseConntrack("tcp      6 118 TIME_WAIT src=10.244.1.1 dst=10.244.1.2 sport=42110 dport=8080 src=10.244.1.2 dst=10.244.1.1 sport=8080 dport=42110 [ASSURED] mark=0 use=1");
    expect(strictChanges(cluster({ app: "b" }), "node1", probe).cut).toEqual(probe);
    expect(strictChanges(cluster({ app: "b" }), "node1", probe, new Set(["10.244.1.1", "192.168.56.11"])).cut).toEqual([]);
  });
});
