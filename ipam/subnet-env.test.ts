import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseSubnetEnv, readSubnetEnv, SubnetEnvError, SubnetEnvMissingError, writeSubnetEnv } from "./subnet-env.js";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("subnet.env", () => {
  it("round-trips flannel's format, atomically and 0644", () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-env-"));
    dirs.push(dir);
    const path = join(dir, "run", "subnet.env");
    writeSubnetEnv(path, { ipv4: { network: "10.244.0.0/16", subnet: "10.244.1.1/24" }, mtu: 1450, ipMasq: true });
    expect(readFileSync(path, "utf8")).toBe("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n");
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(readSubnetEnv(path)).toEqual({ ipv4: { network: "10.244.0.0/16", subnet: "10.244.1.1/24" }, mtu: 1450, ipMasq: true });
  });

  it("carries whether the anti-spoofing filter is on, and reads a file without the key as not saying", () => {
    const base = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n";
    for (const antiSpoofing of [true, false]) {
      const dir = mkdtempSync(join(tmpdir(), "weft-env-"));
      dirs.push(dir);
      writeSubnetEnv(join(dir, "subnet.env"), { ipv4: { network: "10.244.0.0/16", subnet: "10.244.1.1/24" }, mtu: 1450, ipMasq: false, antiSpoofing });
      expect(readFileSync(join(dir, "subnet.env"), "utf8")).toBe(`${base}WEFT_ANTI_SPOOFING=${antiSpoofing}\n`);
      expect(readSubnetEnv(join(dir, "subnet.env")).antiSpoofing).toBe(antiSpoofing);
    }
    expect(parseSubnetEnv(base)).not.toHaveProperty("antiSpoofing");
    expect(() => parseSubnetEnv(`${base}WEFT_ANTI_SPOOFING=off`)).toThrow(/WEFT_ANTI_SPOOFING="off" must be true or false/);
  });

  it("reads and writes a dual-stack node's file as flannel writes it", () => {
    const flannel = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";
    const env = parseSubnetEnv(flannel);
    expect(env).toEqual({ ipv4: { network: "10.244.0.0/16", subnet: "10.244.1.1/24" }, ipv6: { network: "fd00:10:244::/56", subnet: "fd00:10:244:1::1/64" }, mtu: 1450, ipMasq: true });
    const dir = mkdtempSync(join(tmpdir(), "weft-env-"));
    dirs.push(dir);
    writeSubnetEnv(join(dir, "subnet.env"), env);
    expect(readFileSync(join(dir, "subnet.env"), "utf8")).toBe(flannel);
    const base = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\n";
    expect(() => parseSubnetEnv(`${base}FLANNEL_IPV6_NETWORK=fd00::/56\n`)).toThrow(/go together \(found only FLANNEL_IPV6_NETWORK\)/);
    expect(() => parseSubnetEnv(`${base}FLANNEL_IPV6_NETWORK=fd00::/56\nFLANNEL_IPV6_SUBNET=fd01::1/64\n`)).toThrow(/FLANNEL_IPV6_SUBNET fd01::1\/64 is outside FLANNEL_IPV6_NETWORK fd00::\/56/);
    expect(() => parseSubnetEnv(`${base}FLANNEL_IPV6_NETWORK=fd00::/56\nFLANNEL_IPV6_SUBNET=10.0.0.1/24\n`)).toThrow(/FLANNEL_IPV6_SUBNET="10.0.0.1\/24" is not an IPv6 CIDR/);
  });

  it("reads and writes an IPv6-only node's file as flannel writes it: no FLANNEL_NETWORK or FLANNEL_SUBNET", () => {
    const flannel = "FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\nFLANNEL_MTU=1430\nFLANNEL_IPMASQ=true\nWEFT_PUBLIC_IP=fd00:56::b\n";
    const env = parseSubnetEnv(flannel);
    expect(env).toEqual({ ipv6: { network: "fd00:10:244::/56", subnet: "fd00:10:244:1::1/64" }, mtu: 1430, ipMasq: true, publicIp: "fd00:56::b" });
    const dir = mkdtempSync(join(tmpdir(), "weft-env-"));
    dirs.push(dir);
    writeSubnetEnv(join(dir, "subnet.env"), env);
    expect(readFileSync(join(dir, "subnet.env"), "utf8")).toBe(flannel);
    // Neither family: said, naming both pairs of keys.
    expect(() => parseSubnetEnv("FLANNEL_MTU=1450\n")).toThrow(/FLANNEL_NETWORK and FLANNEL_SUBNET \(or, on an IPv6-only node, FLANNEL_IPV6_NETWORK and FLANNEL_IPV6_SUBNET\) are missing/);
    expect(() => parseSubnetEnv(`${flannel}WEFT_PUBLIC_IP=fd00::zz\n`)).toThrow(/WEFT_PUBLIC_IP="fd00::zz" is not an IP address/);
  });

  it("takes WEFT_PUBLIC_IP of either family and refuses what is not an address", () => {
    const base = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\n";
    for (const ip of ["192.168.56.11", "0.0.0.0", "fd00:56::b", "::1", "2001:db8:0:0:0:0:0:1"]) expect(parseSubnetEnv(`${base}WEFT_PUBLIC_IP=${ip}\n`).publicIp).toBe(ip);
    for (const ip of ["192.168.56", "192.168.56.256", "10.0.0.1.2", "node1", "fd00:::1", "1:2:3:4:5:6:7:8:9", ""]) {
      expect(() => parseSubnetEnv(`${base}WEFT_PUBLIC_IP=${ip}\n`), ip).toThrow(/WEFT_PUBLIC_IP=".*" is not an IP address/);
    }
  });

  it("says weftd has not written it when it is missing", () => {
    expect(() => readSubnetEnv("/nonexistent/weft/subnet.env")).toThrow(SubnetEnvMissingError);
    expect(() => readSubnetEnv("/nonexistent/weft/subnet.env")).toThrow(/weftd has not written it yet/);
  });

  it("names the key and value that are wrong", () => {
    const base = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\n";
    expect(parseSubnetEnv(base).ipMasq).toBe(false);
    expect(() => parseSubnetEnv(base.replace("1450", "abc"))).toThrow(/FLANNEL_MTU="abc"/);
    expect(() => parseSubnetEnv(base.replace("10.244.1.1/24", "10.244.1.1"))).toThrow(/FLANNEL_SUBNET="10.244.1.1" is not an IPv4 CIDR/);
    expect(() => parseSubnetEnv(base.replace("10.244.1.1/24", "10.9.1.1/24"))).toThrow(/outside FLANNEL_NETWORK/);
    expect(() => parseSubnetEnv("FLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450")).toThrow(/FLANNEL_NETWORK is missing/);
    expect(() => parseSubnetEnv(`${base}FLANNEL_IPMASQ=yes`)).toThrow(SubnetEnvError);
    expect(() => parseSubnetEnv("garbage")).toThrow(/not KEY=VALUE/);
  });
});
