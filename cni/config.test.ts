import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULTS, parseConfig } from "./config.js";
import { parseCniArgs, readCniEnv } from "./env.js";
import { hostVethName, podMacFor } from "../ipam/attachment.js";
import { resultForVersion } from "./spec.js";

const example = (name: string) => JSON.parse(readFileSync(new URL(`./examples/${name}`, import.meta.url), "utf8")) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };

describe("network config", () => {
  it.each(["10-weft.conflist", "10-weft-portmap.conflist"])("accepts the shipped example %s", (file) => {
    const list = example(file);
    const weft = list.plugins.find((p) => p.type === "weft") as Record<string, unknown>;
    expect(parseConfig({ ...weft, cniVersion: list.cniVersion, name: list.name })).toMatchObject({ name: "weft", bridge: "cni0", hairpinMode: true, isDefaultGateway: true });
  });

  it("fills defaults, ignores unknown keys and names a key of the wrong type", () => {
    expect(parseConfig({ cniVersion: "1.1.0", name: "n", type: "weft", somethingElse: 1 })).toMatchObject({ ...DEFAULTS, cniVersion: "1.1.0", name: "n" });
    expect(() => parseConfig({ cniVersion: "1.1.0", name: "n", hairpinMode: "yes" })).toThrow(/"hairpinMode" must be a boolean/);
    expect(() => parseConfig({ cniVersion: "1.1.0", name: "n", mtu: 70000 })).toThrow(/"mtu" must be an integer/);
  });
});

describe("environment", () => {
  it("reads CNI_ARGS, with IgnoreUnknown for keys weft does not know", () => {
    expect(parseCniArgs("IgnoreUnknown=1;K8S_POD_NAME=a;FOO=b").get("K8S_POD_NAME")).toBe("a");
    expect(() => parseCniArgs("FOO=b")).toThrow(/CNI_ARGS key "FOO"/);
    expect(() => readCniEnv({ CNI_COMMAND: "ADD", CNI_CONTAINERID: "c", CNI_IFNAME: "eth0" })).toThrow(/CNI_NETNS is required for ADD/);
    expect(readCniEnv({ CNI_COMMAND: "DEL", CNI_CONTAINERID: "c", CNI_IFNAME: "eth0" }).netns).toBe("");
    // libcni's conflist validation (podman) sends VERSION with placeholder values
    expect(readCniEnv({ CNI_COMMAND: "VERSION", CNI_CONTAINERID: "dummy", CNI_NETNS: "dummy", CNI_IFNAME: "dummy" }).command).toBe("VERSION");
    expect(() => readCniEnv({ CNI_COMMAND: "ADD", CNI_CONTAINERID: "c", CNI_NETNS: "dummy", CNI_IFNAME: "eth0" })).toThrow(/must be an absolute path/);
  });
});

describe("results and naming", () => {
  it("adds per-IP versions for pre-1.0 results", () => {
    const r = { cniVersion: "1.1.0", ips: [{ address: "10.0.0.2/24" }] };
    expect(resultForVersion(r, "0.3.1")).toEqual({ cniVersion: "0.3.1", ips: [{ version: "4", address: "10.0.0.2/24" }] });
    expect(resultForVersion(r, "1.0.0")).toEqual({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/24" }] });
  });

  it("names host veths deterministically within 15 bytes", () => {
    expect(hostVethName("abc", "eth0")).toBe(hostVethName("abc", "eth0"));
    expect(hostVethName("abc", "eth0")).not.toBe(hostVethName("abc", "eth1"));
    expect(hostVethName("x".repeat(64), "eth0")).toMatch(/^weft[0-9a-f]{8}$/);
    expect(podMacFor("10.244.1.5")).toBe("0a:58:0a:f4:01:05");
  });
});
