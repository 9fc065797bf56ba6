import { describe, expect, it } from "vitest";
import type { PodAllocation } from "../ipam/pod-ip-store.js";
import { elementText, podFilterScript, readPodFilter, syncPodFilter } from "./pod-filter.js";

describe("the anti-spoofing table", () => {
  it("declares the set and chains, then rewrites only the chains (the set's elements survive)", () => {
    const script = podFilterScript();
    expect(script).toContain("set pod-addresses { type ifname . ether_addr . ipv4_addr;");
    expect(script).toContain("type filter hook prerouting priority -200; policy accept;");
    expect(script).toMatch(/flush chain bridge weft prerouting\nadd rule bridge weft prerouting iifname "weft\*" jump from-pod\n/);
    expect(script).toMatch(/flush chain bridge weft from-pod\n(add rule bridge weft from-pod .*\n){4}$/);
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
        rule("from-pod"),
        rule("from-pod"),
        rule("from-pod"),
        rule("from-pod"),
      ],
    };
    const state = await readPodFilter(() => JSON.stringify(json));
    expect(state).toEqual({ entries: [{ hostVeth: "weft0123abcd", mac: "0a:58:0a:f4:01:05", ip: "10.244.1.5" }], droppedFrames: 7, droppedOther: 2, intact: true });
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
      { containerId: "c1", ifname: "eth0", ip: "10.244.1.2" },
      { containerId: "c2", ifname: "eth0", ip: "10.244.1.3" },
    ] as PodAllocation[];
    const r = await syncPodFilter(pods, () => pods, exec);
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
        ...["prerouting", "from-pod", "from-pod", "from-pod", "from-pod"].map((chain) => ({ rule: { chain } })),
      ],
    });
    const writes: string[] = [];
    const exec = (_cmd: string, args: string[], input?: string): string => {
      if (args[0] === "-j") return json;
      writes.push(input ?? "");
      return "";
    };
    const pods = [{ containerId: "c1", ifname: "eth0", ip: "10.244.1.2" }] as PodAllocation[];
    const first = await syncPodFilter(pods, () => pods, exec);
    expect(first).toMatchObject({ tableWritten: false, added: 0, removed: 0 });
    expect(first.differing.size).toBe(2);
    expect(writes).toEqual([]);
    const second = await syncPodFilter(pods, () => pods, exec, first.differing);
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
    const before = [{ containerId: "c1", ifname: "eth0", ip: "10.244.1.2" }] as PodAllocation[];
    const after = [...before, { containerId: "c2", ifname: "eth0", ip: "10.244.1.3" }] as PodAllocation[];
    const r = await syncPodFilter(before, () => after, exec);
    expect(r).toMatchObject({ tableWritten: true, added: 2, entries: 2 });
    expect(writes).toHaveLength(2);
    expect(writes[0]).toContain("10.244.1.2 }");
    expect(writes[1]).toMatch(/^add element bridge weft pod-addresses \{ "weft[0-9a-f]{8}" \. 0a:58:0a:f4:01:03 \. 10\.244\.1\.3 \}\n$/);
  });
});
