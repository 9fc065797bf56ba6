// weftd's NAT and FORWARD rules in a namespace of the test's own: written once, left alone while they
// are right (no iptables-restore at every resync), repaired when someone changes them, and other
// programs' rules left as they are.
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyMasquerade, FORWARD_CHAIN, iptablesUsesNftables, NatRulesKeeper, POSTROUTING_CHAIN } from "../../daemon/masquerade.js";
import { nftGeneration } from "../../netlink/index.js";
import { NetnsPool } from "../helpers/netns.js";

describe("masquerade rules", () => {
  const pool = new NetnsPool("mq");
  let ns = "";
  const writes: string[] = [];
  const commands: string[] = [];
  const exec = (cmd: string, args: string[], input?: string): string => {
    commands.push(cmd);
    if (cmd === "iptables-restore") writes.push(input ?? "");
    return execFileSync("ip", ["netns", "exec", ns, cmd, ...args], { encoding: "utf8", input });
  };
  const save = (): string => execFileSync("ip", ["netns", "exec", ns, "iptables-save"], { encoding: "utf8" });
  beforeAll(() => void (ns = pool.create()));
  afterAll(() => pool.cleanup());

  it("writes the chains and jumps once, then leaves them alone, and repairs a rule deleted by hand", async () => {
    expect(await applyMasquerade("10.244.0.0/16", "10.244.5.0/24", true, exec)).toBe(true);
    const first = save();
    expect(first).toContain(`-A ${POSTROUTING_CHAIN} -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "pod to outside" -j MASQUERADE --random-fully`);
    expect(first).toContain(`-A FORWARD -m comment --comment "weft: forward pod traffic" -j ${FORWARD_CHAIN}`);
    expect(await applyMasquerade("10.244.0.0/16", "10.244.5.0/24", true, exec)).toBe(false);
    expect(writes).toHaveLength(1);
    execFileSync("ip", ["netns", "exec", ns, "iptables", "-t", "nat", "-D", POSTROUTING_CHAIN, "1"]);
    expect(await applyMasquerade("10.244.0.0/16", "10.244.5.0/24", true, exec)).toBe(true);
    const strip = (t: string): string => t.split("\n").filter((l) => l.startsWith("-A ")).sort().join("\n");
    expect(strip(save())).toBe(strip(first));
    // ipMasq turned off: the NAT chain is emptied, FORWARD stays.
    expect(await applyMasquerade("10.244.0.0/16", "10.244.5.0/24", false, exec)).toBe(true);
    expect(save()).not.toContain(`-A ${POSTROUTING_CHAIN} `);
    expect(save()).toContain(`-A ${FORWARD_CHAIN} -s 10.244.0.0/16 -j ACCEPT`);
  });

  it("leaves a large foreign ruleset as it is, and puts back a jump deleted by hand", async () => {
    // kube-proxy-like rules for 500 Services beside weft's.
    const services = Array.from({ length: 500 }, (_, i) => i);
    const foreign = [
      "*nat",
      ":KUBE-SERVICES - [0:0]",
      ...services.map((i) => `:KUBE-SVC-${i} - [0:0]`), // iptables-restore wants every chain declared before the rules
      "-A PREROUTING -j KUBE-SERVICES",
      ...services.flatMap((i) => [`-A KUBE-SERVICES -d 10.96.${i >> 8}.${i & 255}/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-${i}`, `-A KUBE-SVC-${i} -p tcp -j DNAT --to-destination 10.244.1.${i % 250}:8080`]),
      "COMMIT",
      "",
    ];
    execFileSync("ip", ["netns", "exec", ns, "iptables-restore", "--noflush"], { input: foreign.join("\n") });
    commands.length = 0;
    writes.length = 0;
    expect(await applyMasquerade("10.244.0.0/16", "10.244.5.0/24", false, exec)).toBe(false);
    expect(commands).toEqual(["iptables-save"]); // one read, nothing written while the rules are in place
    execFileSync("ip", ["netns", "exec", ns, "iptables", "-t", "filter", "-D", "FORWARD", "1"]);
    expect(save()).not.toContain(`-j ${FORWARD_CHAIN}`);
    expect(await applyMasquerade("10.244.0.0/16", "10.244.5.0/24", false, exec)).toBe(true);
    expect(save().match(new RegExp(`-A FORWARD .*-j ${FORWARD_CHAIN}`, "g"))).toHaveLength(1);
    expect(save()).toContain("-A KUBE-SVC-499 -p tcp -j DNAT --to-destination 10.244.1.249:8080");
    expect(await applyMasquerade("10.244.0.0/16", "10.244.5.0/24", false, exec)).toBe(false);
    expect(writes).toHaveLength(1);
  });
  it("skips the read while nf_tables' ruleset generation stands still, and checks again after any change", async () => {
    const version = execFileSync("iptables", ["--version"], { encoding: "utf8" });
    expect(await iptablesUsesNftables(exec)).toBe(/\(nf_tables\)/.test(version));
    if (!/\(nf_tables\)/.test(version)) return; // iptables-legacy: no generation to go by (checked last below)
    const reads = (): number => commands.filter((c) => c === "iptables-save").length;
    const keeper = new NatRulesKeeper(() => nftGeneration(`/var/run/netns/${ns}`), exec);
    const ensure = () => keeper.ensure("10.244.0.0/16", "10.244.5.0/24", true);
    expect(await ensure()).toBe("written"); // the previous test left ipMasq off
    expect(await ensure()).toBe("in place"); // its own write moved the generation: read once more
    const before = reads();
    expect(await ensure()).toBe("unchanged");
    expect(await ensure()).toBe("unchanged");
    expect(reads()).toBe(before);
    // Any change in the namespace moves the generation: here weft's own rule deleted by hand.
    execFileSync("ip", ["netns", "exec", ns, "iptables", "-t", "nat", "-D", POSTROUTING_CHAIN, "1"]);
    expect(await ensure()).toBe("written");
    expect(save()).toContain(`-A ${POSTROUTING_CHAIN} -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "pod to outside" -j MASQUERADE --random-fully`);
    // Without a generation (iptables-legacy, or one that cannot be read) every call reads.
    for (const generation of [undefined, () => { throw new Error("no netlink"); }]) {
      const blind = new NatRulesKeeper(generation, exec);
      const n = reads();
      expect(await blind.ensure("10.244.0.0/16", "10.244.5.0/24", true)).toBe("in place");
      expect(await blind.ensure("10.244.0.0/16", "10.244.5.0/24", true)).toBe("in place");
      expect(reads()).toBe(n + 2);
    }
  });
});
