import { describe, expect, it } from "vitest";
import type { Runner } from "./exec.js";
import { dualStackCluster } from "./fixtures.js";
import { IptablesProxier } from "./iptables-proxier.js";
import { createProxier, proxierOptions } from "./modes.js";
import { NftProxier } from "./nft-proxier.js";
import { ProxyConfigError, ProxyModeUnavailableError } from "./proxier.js";
import { servicePorts } from "./service-ports.js";
import { UserspaceProxier } from "./userspace-proxier.js";

/** A runner that records each command and answers as an empty kernel would. */
function recorder(): { run: Runner; calls: { cmd: string; args: string[]; input?: string }[] } {
  const calls: { cmd: string; args: string[]; input?: string }[] = [];
  return {
    calls,
    run: (cmd, args, input) => {
      calls.push({ cmd, args, ...(input !== undefined ? { input } : {}) });
      if (cmd === "nft" && args[0] === "list") throw new Error("No such file or directory");
      return "";
    },
  };
}

describe("proxierOptions: one proxier per family of --cluster-cidr, as kube-proxy's flags", () => {
  it("runs IPv4 alone by default, and one proxier per family for a dual-stack list, IPv4 first", () => {
    expect(proxierOptions("iptables", "10.244.0.0/16")).toEqual([{ family: "IPv4", clusterCidr: "10.244.0.0/16", nodeIp: "" }]);
    expect(proxierOptions("nftables", "fd00:10:244::/56, 10.244.0.0/16", "fd00:56::11,192.168.56.11")).toEqual([
      { family: "IPv4", clusterCidr: "10.244.0.0/16", nodeIp: "192.168.56.11" },
      { family: "IPv6", clusterCidr: "fd00:10:244::/56", nodeIp: "fd00:56::11" },
    ]);
    expect(proxierOptions("iptables", "fd00:10:244::/56", "192.168.56.11")).toEqual([{ family: "IPv6", clusterCidr: "fd00:10:244::/56", nodeIp: "" }]);
  });

  it("refuses malformed values and two of one family, saying which flag and how to write it", () => {
    expect(() => proxierOptions("iptables", "10.244.0.0/16,10.245.0.0/16")).toThrow(new ProxyConfigError(`--cluster-cidr has two IPv4 values (10.244.0.0/16, 10.245.0.0/16); give at most one per family, e.g. "10.244.0.0/16,fd00:10:244::/56"`));
    for (const bad of ["10.244.0.0", "10.244.0.0/33", "fd00::/129", "10.244.0.0/x", "nonsense/8"]) expect(() => proxierOptions("iptables", bad)).toThrow(/^--cluster-cidr: ".*" is not a CIDR/);
    expect(() => proxierOptions("iptables", " , ")).toThrow(/--cluster-cidr is empty/);
    expect(() => proxierOptions("iptables", "10.244.0.0/16", "node1")).toThrow(/--node-ip: "node1" is not an IP address/);
    expect(() => proxierOptions("iptables", "10.244.0.0/16", "fd00::1,fd00::2")).toThrow(/--node-ip has two IPv6 values/);
  });

  it("userspace mode: a cluster CIDR of a family the node has no address of is an error at start that says so", () => {
    expect(() => proxierOptions("userspace", "10.244.0.0/16,fd00:10:244::/56", "192.168.56.11")).toThrow(
      new ProxyConfigError("userspace mode: --cluster-cidr has the IPv6 CIDR fd00:10:244::/56 but --node-ip has no IPv6 address (192.168.56.11); add this node's IPv6 address to --node-ip (its portals send locally generated traffic there), or drop that CIDR"),
    );
    expect(() => proxierOptions("userspace", "10.244.0.0/16")).toThrow(/IPv4 CIDR 10\.244\.0\.0\/16 but --node-ip is not given/);
    expect(proxierOptions("userspace", "10.244.0.0/16,fd00:10:244::/56", "192.168.56.11,fd00:56::11").map((o) => o.nodeIp)).toEqual(["192.168.56.11", "fd00:56::11"]);
  });
});

describe("each family's proxier drives its own family's tools", () => {
  const ports6 = servicePorts(dualStackCluster(), "node1", "IPv6");
  const opts6 = { family: "IPv6" as const, clusterCidr: "fd00:10:244::/56", nodeIp: "fd00:56::11" };

  it("iptables mode: ip6tables-save/-restore for IPv6 (ip6tables-legacy-* on the legacy backend), iptables-* for IPv4", () => {
    for (const [backend, bin] of [["default", "ip6tables"], ["legacy", "ip6tables-legacy"]] as const) {
      const r = recorder();
      const p = new IptablesProxier({ clusterCidr: opts6.clusterCidr, family: "IPv6" }, r.run, backend);
      p.init();
      p.sync(ports6);
      expect(p.family).toBe("IPv6");
      expect(r.calls.map((c) => c.cmd)).toEqual([`${bin}-save`, `${bin}-save`, `${bin}-restore`, `${bin}-restore`]);
      expect(r.calls.at(-1)!.input).toContain("-d fd00:10:96::20/128 -p tcp -m tcp --dport 80 -j KUBE-SVC-");
    }
    // Options from before dual-stack (a cluster CIDR alone) are the family of that CIDR.
    const r4 = recorder();
    new IptablesProxier({ clusterCidr: "10.244.0.0/16" }, r4.run).init();
    expect(r4.calls.map((c) => c.cmd)).toEqual(["iptables-save", "iptables-save", "iptables-restore"]);
    expect([createProxier("iptables", { family: "IPv4", clusterCidr: "10.244.0.0/16", nodeIp: "" }).family, createProxier("iptables", opts6).family]).toEqual(["IPv4", "IPv6"]);
  });

  it("nftables mode: the IPv6 proxier lists and writes table ip6 kube-proxy only", () => {
    const r = recorder();
    const p = new NftProxier({ clusterCidr: opts6.clusterCidr, family: "IPv6" }, r.run);
    p.init();
    p.sync(ports6);
    expect(r.calls[0]).toEqual({ cmd: "nft", args: ["list", "table", "ip6", "kube-proxy"] });
    expect(r.calls[1]!.input!.split("\n")[0]).toBe(`add table ip6 kube-proxy { comment "rules for kube-proxy" ; }`);
    expect(createProxier("nftables", opts6).family).toBe("IPv6");
  });

  it("userspace mode: portal chains in ip6tables nat, and an address of its own family to send to", () => {
    const r = recorder();
    new UserspaceProxier("fd00:56::11", r.run, "IPv6").init();
    expect(r.calls.map((c) => c.cmd)).toEqual(["ip6tables-save", "ip6tables-restore"]);
    expect(r.calls[1]!.input).toContain("-I OUTPUT 1 -j KUBE-PORTALS-HOST");
    expect(() => new UserspaceProxier("192.168.56.11", recorder().run, "IPv6").init()).toThrow(new ProxyConfigError(`userspace mode (IPv6) needs this node's IPv6 address in --node-ip (the portals DNAT locally generated traffic to it); got "192.168.56.11"`));
  });

  it("ipvs mode refuses IPv6 with the reason and the modes that do it, before touching the kernel", () => {
    const p = createProxier("ipvs", opts6);
    expect(() => p.init()).toThrow(ProxyModeUnavailableError);
    expect(() => p.init()).toThrow(/programs IPv4 only.*--proxy-mode iptables \(the default\) or nftables for IPv6 and dual-stack/);
  });
});
