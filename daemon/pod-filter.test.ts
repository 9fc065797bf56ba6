import { describe, expect, it } from "vitest";
import type { RecordedPod } from "../ipam/pod-ip-store.js";
import { linkLocalFor, podFilterEntries } from "../ipam/attachment.js";
import { elementText, planPodFilter, podFilterScript, readPodFilter, syncPodFilter, type PodFilterState } from "./pod-filter.js";

const portOf = (a: RecordedPod): string => podFilterEntries(a)[0]!.hostVeth;

describe("the anti-spoofing table", () => {
  it("declares the set and chains, then rewrites only the chains (the set's elements survive)", () => {
    const script = podFilterScript();
    expect(script).toContain("set pod-addresses { type ifname . ether_addr . ipv4_addr;");
    expect(script).toContain("type filter hook prerouting priority -200; policy accept;");
    expect(script).toMatch(/flush chain bridge weft prerouting\nadd rule bridge weft prerouting iifname "weft\*" jump from-pod\n/);
    expect(script).toContain("set unverified-ports { type ifname;");
    expect(script).toMatch(/flush chain bridge weft from-pod\nadd rule bridge weft from-pod iifname @unverified-ports return\n(add rule bridge weft from-pod .*\n){4}$/);
    expect(script).not.toMatch(/flush (set|table|ruleset)/);
  });

  it("writes an entry only from checked parts, so no value can smuggle nft syntax in", () => {
    expect(elementText({ hostVeth: "weft0123abcd", mac: "0a:58:0a:f4:01:05", ip: "10.244.1.5" })).toBe('"weft0123abcd" . 0a:58:0a:f4:01:05 . 10.244.1.5');
    expect(() => elementText({ hostVeth: 'weft0123abcd" }; flush ruleset; #', mac: "0a:58:0a:f4:01:05", ip: "10.244.1.5" })).toThrow(/not a weft pod filter entry/);
    expect(() => elementText({ hostVeth: "eth0", mac: "0a:58:0a:f4:01:05", ip: "10.244.1.5" })).toThrow();
    expect(() => elementText({ hostVeth: "weft0123abcd", mac: "0a:58:0a:f4:01:05; flush ruleset", ip: "10.244.1.5" })).toThrow();
    expect(() => elementText({ hostVeth: "weft0123abcd", mac: "0a:58:0a:f4:01:05", ip: "10.244.1.5 }" })).toThrow();
  });

  it("reads entries, the drop counter and whether each chain holds its rules from nft's JSON", async () => {
    const rule = (chain: string) => ({ rule: { family: "bridge", table: "weft", chain, expr: [] } });
    const json = {
      nftables: [
        { metainfo: { version: "1.0.6" } },
        { table: { family: "bridge", name: "weft" } },
        { set: { family: "bridge", name: "pod-addresses", table: "weft", elem: [{ concat: ["weft0123abcd", "0a:58:0a:f4:01:05", "10.244.1.5"] }] } },
        { counter: { family: "bridge", name: "spoofed", table: "weft", packets: 7, bytes: 588 } },
        { counter: { family: "bridge", name: "not-ipv4", table: "weft", packets: 2, bytes: 140 } },
        rule("prerouting"),
        { set: { family: "bridge", name: "unverified-ports", table: "weft", elem: ["weft89abcdef"] } },
        rule("from-pod"),
        rule("from-pod"),
        rule("from-pod"),
        rule("from-pod"),
        rule("from-pod"),
      ],
    };
    const state = await readPodFilter(() => JSON.stringify(json));
    expect(state).toEqual({ entries: [{ hostVeth: "weft0123abcd", mac: "0a:58:0a:f4:01:05", ip: "10.244.1.5" }], unverified: ["weft89abcdef"], droppedFrames: 7, droppedOther: 2, intact: true });
    json.nftables.pop();
    expect((await readPodFilter(() => JSON.stringify(json)))?.intact).toBe(false);
    expect(
      await readPodFilter(() => {
        throw new Error("No such file or directory");
      }),
    ).toBeUndefined();
  });

  it("creates a missing table and lists the running pods in one transaction, so its rules never drop a listed pod's first frames", async () => {
    const calls: { args: string[]; input?: string }[] = [];
    const exec = (cmd: string, args: string[], input?: string): string => {
      calls.push({ args, ...(input !== undefined ? { input } : {}) });
      if (args[0] === "-j") throw new Error("Error: No such file or directory"); // no table yet
      return "";
    };
    const pods = [
      { containerId: "c1", ifname: "eth0", ipv4: "10.244.1.2" },
      { containerId: "c2", ifname: "eth0", ipv4: "10.244.1.3" },
    ] as RecordedPod[];
    const r = await syncPodFilter({ allocations: pods, relist: () => pods, ports: pods.map(portOf) }, exec);
    expect(r).toMatchObject({ tableWritten: true, added: 2, removed: 0, entries: 2 });
    const writes = calls.filter((c) => c.args[0] === "-f");
    expect(writes).toHaveLength(1);
    expect(writes[0]!.input).toContain("table bridge weft {");
    expect(writes[0]!.input).toMatch(/add element bridge weft pod-addresses \{ "weft[0-9a-f]{8}" \. 0a:58:0a:f4:01:02 \. 10\.244\.1\.2, "weft[0-9a-f]{8}" \. 0a:58:0a:f4:01:03 \. 10\.244\.1\.3 \}\n$/);
  });

  it("repairs an entry that is missing or stale only when the previous sync saw it too (a pod's ADD or DEL may be in flight)", async () => {
    const listed = { concat: ["weft0123abcd", "0a:58:0a:f4:01:09", "10.244.1.9"] }; // its pod is gone
    const json = JSON.stringify({
      nftables: [
        { set: { name: "pod-addresses", elem: [listed] } },
        ...["prerouting", "from-pod", "from-pod", "from-pod", "from-pod", "from-pod"].map((chain) => ({ rule: { chain } })),
      ],
    });
    const writes: string[] = [];
    const exec = (_cmd: string, args: string[], input?: string): string => {
      if (args[0] === "-j") return json;
      writes.push(input ?? "");
      return "";
    };
    const pods = [{ containerId: "c1", ifname: "eth0", ipv4: "10.244.1.2" }] as RecordedPod[];
    const first = await syncPodFilter({ allocations: pods, relist: () => pods, ports: pods.map(portOf) }, exec);
    expect(first).toMatchObject({ tableWritten: false, added: 0, removed: 0 });
    expect(first.differing.size).toBe(2);
    expect(writes).toEqual([]);
    const second = await syncPodFilter({ allocations: pods, relist: () => pods, ports: pods.map(portOf) }, exec, first.differing);
    expect(second).toMatchObject({ added: 1, removed: 1 });
    expect(second.differing.size).toBe(0);
    expect(writes).toEqual([expect.stringMatching(/^add element .* 10\.244\.1\.2 \}\n$/), 'delete element bridge weft pod-addresses { "weft0123abcd" . 0a:58:0a:f4:01:09 . 10.244.1.9 }\n']);
  });

  it("lists a pod whose ADD ran while the table was being created (it found no set), at once", async () => {
    const writes: string[] = [];
    const exec = (_cmd: string, args: string[], input?: string): string => {
      if (args[0] === "-j") throw new Error("Error: No such file or directory");
      writes.push(input ?? "");
      return "";
    };
    const before = [{ containerId: "c1", ifname: "eth0", ipv4: "10.244.1.2" }] as RecordedPod[];
    const after = [...before, { containerId: "c2", ifname: "eth0", ipv4: "10.244.1.3" }] as RecordedPod[];
    const r = await syncPodFilter({ allocations: before, relist: () => after, ports: after.map(portOf) }, exec);
    expect(r).toMatchObject({ tableWritten: true, added: 2, entries: 2 });
    expect(writes).toHaveLength(2);
    expect(writes[0]).toContain("10.244.1.2 }");
    expect(writes[1]).toMatch(/^add element bridge weft pod-addresses \{ "weft[0-9a-f]{8}" \. 0a:58:0a:f4:01:03 \. 10\.244\.1\.3 \}\n$/);
  });
});

describe("the kernel's ports against the IP records", () => {
  const e = (veth: string, ip: string) => ({ hostVeth: veth, mac: `0a:58:0a:f4:01:${Number(ip.split(".")[3]).toString(16).padStart(2, "0")}`, ip });
  const A = e("weft000000a1", "10.244.1.2");
  const B = e("weft000000b2", "10.244.1.3");
  const table = (entries: ReturnType<typeof e>[], unverified: string[] = []): PodFilterState => ({ entries, unverified, droppedFrames: 0, droppedOther: 0, intact: true });

  it("never removes a running port's entry when no record names the port, however often it syncs", () => {
    let differing: ReadonlySet<string> = new Set();
    for (let i = 0; i < 5; i++) {
      const plan = planPodFilter(table([A, B]), [], new Set([A.hostVeth, B.hostVeth]), differing);
      expect(plan.remove).toEqual([]);
      expect(plan.unrecorded).toEqual([A, B]);
      expect(plan.openPorts).toEqual([]); // they have entries: still filtered
      differing = plan.differing;
    }
  });

  it("removes the entry of a port that is gone, and one the port's own record contradicts, at the second sighting", () => {
    const movedB = e(B.hostVeth, "10.244.1.9"); // the record says B's port now has another address
    const first = planPodFilter(table([A, B]), [movedB], new Set([B.hostVeth]), new Set());
    expect(first.remove).toEqual([]);
    const second = planPodFilter(table([A, B]), [movedB], new Set([B.hostVeth]), first.differing);
    expect(second.remove).toEqual([A, B]);
    expect(second.add).toEqual([movedB]);
    expect(second.unrecorded).toEqual([]);
  });

  it("lets a running port with neither record nor entry through, and closes it once the pod's entry is listed", () => {
    const open = planPodFilter(table([A]), [], new Set([A.hostVeth, B.hostVeth]), new Set());
    expect(open).toMatchObject({ openPorts: [B.hostVeth], closePorts: [], unverified: [B.hostVeth], unrecorded: [A] });
    const stillOpen = planPodFilter(table([A], [B.hostVeth]), [B], new Set([A.hostVeth, B.hostVeth]), new Set());
    expect(stillOpen).toMatchObject({ add: [], openPorts: [], closePorts: [] }); // the record's entry is not in yet
    const listed = planPodFilter(table([A], [B.hostVeth]), [B], new Set([A.hostVeth, B.hostVeth]), stillOpen.differing);
    expect(listed).toMatchObject({ add: [B], closePorts: [B.hostVeth], unverified: [] });
    expect(planPodFilter(table([A], [B.hostVeth]), [], new Set([A.hostVeth]), new Set()).closePorts).toEqual([B.hostVeth]); // port gone
  });

  it("a new table lets unrecorded running ports through in the same transaction as the entries", async () => {
    const writes: string[] = [];
    const exec = (_cmd: string, args: string[], input?: string): string => {
      if (args[0] === "-j") throw new Error("Error: No such file or directory");
      writes.push(input ?? "");
      return "";
    };
    const pods = [{ containerId: "c1", ifname: "eth0", ipv4: "10.244.1.2" }] as RecordedPod[];
    const r = await syncPodFilter({ allocations: pods, relist: () => pods, ports: [portOf(pods[0]!), "weft00000bad"] }, exec);
    expect(r).toMatchObject({ tableWritten: true, added: 1, unverified: ["weft00000bad"] });
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatch(/add element bridge weft pod-addresses \{ .* \}\nadd element bridge weft unverified-ports \{ "weft00000bad" \}\n$/);
  });
});

describe("the anti-spoofing table on a dual-stack node", () => {
  it("checks IPv6 against the IPv6 set and drops router advertisements and redirects from pods", () => {
    const script = podFilterScript(true);
    expect(script).toContain("set pod-addresses6 { type ifname . ether_addr . ipv6_addr;");
    expect(script).toMatch(/add rule bridge weft from-pod icmpv6 type \{ nd-router-advert, nd-redirect \} counter name "spoofed" drop\nadd rule bridge weft from-pod icmpv6 type nd-neighbor-advert .*\nadd rule bridge weft from-pod ether type ip6 iifname \. ether saddr \. ip6 saddr @pod-addresses6 return\nadd rule bridge weft from-pod ether type ip6 counter name "spoofed" drop\nadd rule bridge weft from-pod counter name "not-ipv4" drop\n$/);
    expect(podFilterScript(false)).not.toContain("ip6 saddr");
  });

  it("drops a neighbour advertisement whose target (8 bytes into the ICMPv6 header) is not one of the port's pod's own addresses, before its source is looked at", () => {
    const script = podFilterScript(true);
    expect(script).toContain("set pod-nd-targets6 { typeof iifname . ether saddr . @th,64,128;");
    expect(script).toContain('add rule bridge weft from-pod icmpv6 type nd-neighbor-advert iifname . ether saddr . @th,64,128 != @pod-nd-targets6 counter name "spoofed" drop\nadd rule bridge weft from-pod ether type ip6 iifname');
    expect(podFilterScript(false)).not.toContain("nd-neighbor-advert");
    expect(podFilterScript(false)).toContain("set pod-nd-targets6 {"); // declared on every node: a node that turns dual-stack keeps its table
    for (const [, comment] of script.matchAll(/comment "([^"]*)"/g)) expect(comment!.length).toBeLessThanOrEqual(128); // nft's limit
  });

  it("lists as targets a pod's IPv6 and link-local address, not ::, written as the 128-bit integers the raw payload is looked up as", async () => {
    const pod: RecordedPod = { containerId: "c1", ifname: "eth0", ipv4: "10.244.134.2", ipv6: "fd00:10:244:3f::2", allocatedAt: "" };
    const writes: string[] = [];
    const exec = (_cmd: string, args: string[], input?: string): string => {
      if (args[0] === "-j") throw new Error("Error: No such file or directory");
      writes.push(input ?? "");
      return "";
    };
    const r = await syncPodFilter({ allocations: [pod], relist: () => [pod], ports: [portOf(pod)], ipv6: true }, exec);
    expect(r).toMatchObject({ tableWritten: true, added: 6, entries: 6 });
    const veth = portOf(pod);
    expect(writes[0]).toContain(`add element bridge weft pod-nd-targets6 { "${veth}" . 0a:58:0a:f4:86:02 . 0xfd0000100244003f0000000000000002, "${veth}" . 0a:58:0a:f4:86:02 . 0xfe8000000000000008580afffef48602 }\n`);
    expect(writes[0]).toContain(`add element bridge weft pod-addresses6 { "${veth}" . 0a:58:0a:f4:86:02 . fd00:10:244:3f::2, "${veth}" . 0a:58:0a:f4:86:02 . fe80::858:aff:fef4:8602, "${veth}" . 0a:58:0a:f4:86:02 . :: }\n`);
    expect(() => elementText({ hostVeth: veth, mac: "0a:58:0a:f4:86:02", ip: "10.244.134.2", ndTarget: true })).toThrow(/not a neighbour advertisement target/);
  });

  it("reads the targets back as addresses, and leaves alone a target it could not write itself", async () => {
    const target = (hex: string) => ({ concat: ["weft0123abcd", "0a:58:0a:f4:86:02", hex] });
    const json = { nftables: [{ set: { name: "pod-nd-targets6", elem: [target("0xfd0000100244003f0000000000000002"), target("0xfd00:1")] } }] };
    const state = await readPodFilter(() => JSON.stringify(json), true);
    expect(state?.entries).toEqual([
      { hostVeth: "weft0123abcd", mac: "0a:58:0a:f4:86:02", ip: "fd00:10:244:3f::2", ndTarget: true },
      { hostVeth: "weft0123abcd", mac: "0a:58:0a:f4:86:02", ip: "0xfd00:1", ndTarget: true },
    ]);
    // The pod is gone: its well-formed target is removed at the second sighting, the garbled one never.
    const first = planPodFilter({ ...state!, intact: true }, [], new Set(), new Set());
    expect(planPodFilter({ ...state!, intact: true }, [], new Set(), first.differing).remove).toEqual([state!.entries[0]]);
  });

  it("lists a dual-stack pod's IPv6 address, its link-local address and :: beside its IPv4 address, each with its port and MAC", () => {
    const entries = podFilterEntries({ containerId: "c1", ifname: "eth0", ipv4: "10.244.134.2", ipv6: "fd00:10:244:3f::2" });
    expect(entries.map((e) => e.ip)).toEqual(["10.244.134.2", "fd00:10:244:3f::2", "fe80::858:aff:fef4:8602", "::"]);
    expect(new Set(entries.map((e) => `${e.hostVeth} ${e.mac}`)).size).toBe(1);
    expect(linkLocalFor("0a:58:0a:f4:86:02")).toBe("fe80::858:aff:fef4:8602"); // what the pod's kernel forms (seen on the lab)
    // An IPv6-only pod: its MAC from its IPv6 address's last four bytes, the same three IPv6 entries.
    const only6 = podFilterEntries({ containerId: "c1", ifname: "eth0", ipv6: "fd00:10:244:3f::a02" });
    expect(only6.map((e) => `${e.mac} ${e.ip}`)).toEqual(["0a:58:00:00:0a:02 fd00:10:244:3f::a02", "0a:58:00:00:0a:02 fe80::858:ff:fe00:a02", "0a:58:00:00:0a:02 ::"]);
    expect(elementText(entries[1]!)).toMatch(/^"weft[0-9a-f]{8}" \. 0a:58:0a:f4:86:02 \. fd00:10:244:3f::2$/);
    expect(() => elementText({ ...entries[1]!, ip: "fd00:10:244:3f:0::2" })).toThrow(/not a weft pod filter entry/); // only the canonical spelling
    expect(() => elementText({ ...entries[1]!, ip: "fd00::2 }; flush ruleset" })).toThrow();
  });
});
