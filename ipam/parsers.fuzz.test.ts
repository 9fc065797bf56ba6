// Fuzzing the two files weft reads that others may write: subnet.env (weftd → CNI plugin) and the
// network config (an operator, or any etcd writer). Whatever the input: a typed error with a message,
// never another exception, and whatever parses is consistent and survives a round trip.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { leasableCount, NetworkConfigError, parseNetworkConfig, subnetInNetwork, toFlannelConfigJson, type SubnetRange } from "./network-config.js";
import { parseIpv4Cidr } from "./ipv4.js";
import { formatSubnetEnv, parseSubnetEnv, SubnetEnvError } from "./subnet-env.js";

const RUNS = 3_000;

/** Runs `parse`; only the parser's own error type may come out of it. */
function typedOrValue<T>(parse: () => T, errorType: new (...a: never[]) => Error): T | undefined {
  try {
    return parse();
  } catch (err) {
    expect(err).toBeInstanceOf(errorType);
    expect((err as Error).message.length).toBeGreaterThan(0);
    return undefined;
  }
}

const octet = fc.integer({ min: 0, max: 255 });
const ip = fc.tuple(octet, octet, octet, octet).map((o) => o.join("."));
const cidr = fc.tuple(ip, fc.integer({ min: 0, max: 32 })).map(([a, l]) => `${a}/${l}`);
const nearlyCidr = fc.oneof(cidr, fc.string(), fc.constantFrom("10.244.0.0/16", "10.244.1.1/24", "10.244.1.1/33", "300.1.1.1/24", "10.244.1.1", "", "/24", "10.244.1.1/24/1", " 10.244.1.1/24"));
const value = fc.oneof(nearlyCidr, ip, fc.integer().map(String), fc.constantFrom("1450", "true", "false", "65536", "575", "-1", "1e3", '"1450"'));
const key = fc.oneof(fc.constantFrom("FLANNEL_NETWORK", "FLANNEL_SUBNET", "FLANNEL_MTU", "FLANNEL_IPMASQ", "WEFT_PUBLIC_IP"), fc.string({ maxLength: 12 }));
const line = fc.oneof(fc.tuple(key, value).map(([k, v]) => `${k}=${v}`), fc.string(), fc.constantFrom("# comment", "", "   ", "=x", "FLANNEL_MTU"));

describe("subnet.env parser under random input", () => {
  it("returns a consistent value or a SubnetEnvError, and what it returns round-trips", () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), fc.constantFrom("\n", "\r\n"), (lines, eol) => {
        const env = typedOrValue(() => parseSubnetEnv(lines.join(eol)), SubnetEnvError);
        if (!env) return;
        expect(env.mtu).toBeGreaterThanOrEqual(576);
        expect(env.mtu).toBeLessThanOrEqual(65535);
        expect(parseSubnetEnv(formatSubnetEnv(env))).toEqual(env);
      }),
      { numRuns: RUNS },
    );
  });

  it("never accepts a subnet outside the network", () => {
    fc.assert(
      fc.property(cidr, cidr, fc.integer({ min: 576, max: 9000 }), (network, subnet, mtu) => {
        const env = typedOrValue(() => parseSubnetEnv(`FLANNEL_NETWORK=${network}\nFLANNEL_SUBNET=${subnet}\nFLANNEL_MTU=${mtu}\n`), SubnetEnvError);
        if (!env) return;
        const net = parseIpv4Cidr(env.ipv4!.network);
        const sub = parseIpv4Cidr(env.ipv4!.subnet);
        expect(sub.network >= net.network && sub.broadcast <= net.broadcast).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

const json = fc.jsonValue({ maxDepth: 3 });
const configLike = fc.record(
  {
    Network: fc.oneof(nearlyCidr, json),
    SubnetLen: fc.oneof(fc.integer({ min: -2, max: 40 }), json),
    SubnetMin: fc.oneof(ip, json),
    SubnetMax: fc.oneof(ip, json),
    EnableIPv4: fc.oneof(fc.boolean(), json),
    EnableIPv6: fc.oneof(fc.boolean(), json),
    IPv6Network: fc.oneof(fc.constantFrom("fd00::/56", "fd00:10:244::/48", "fd00::/120", "fd00::1/64", "::/0", "10.0.0.0/8"), fc.ipV6().map((a) => `${a}/${56}`), json),
    IPv6SubnetLen: fc.oneof(fc.integer({ min: 40, max: 130 }), json),
    Backend: fc.oneof(fc.record({ Type: fc.oneof(fc.constant("vxlan"), fc.string()), VNI: fc.oneof(fc.integer(), json), Port: fc.oneof(fc.integer(), json), DirectRouting: fc.oneof(fc.boolean(), json) }, { requiredKeys: [] }), json),
  },
  { requiredKeys: [] },
);

describe("network config parser under random input", () => {
  it("returns a config whose subnets lie in the network, or a NetworkConfigError", () => {
    fc.assert(
      fc.property(fc.oneof(configLike, json, fc.string()), (input) => {
        const cfg = typedOrValue(() => parseNetworkConfig(typeof input === "string" ? input : JSON.stringify(input)), NetworkConfigError);
        if (!cfg) return;
        const ranges: [SubnetRange, number][] = [...(cfg.enableIPv4 ? [[cfg, 30] as [SubnetRange, number]] : []), ...(cfg.ipv6 ? [[cfg.ipv6, 126] as [SubnetRange, number]] : [])];
        expect(ranges.length).toBeGreaterThan(0);
        for (const [range, maxLen] of ranges) {
          expect(range.subnetLen).toBeGreaterThan(Number(range.network.split("/")[1]));
          expect(range.subnetLen).toBeLessThanOrEqual(maxLen);
          expect(leasableCount(range)).toBeGreaterThan(0);
          expect(subnetInNetwork(range, `${range.subnetMin}/${range.subnetLen}`)).toBe(true);
          expect(subnetInNetwork(range, `${range.subnetMax}/${range.subnetLen}`)).toBe(true);
        }
        // What weft writes back to etcd parses to the same config.
        expect(parseNetworkConfig(JSON.stringify(toFlannelConfigJson(cfg)))).toEqual(cfg);
      }),
      { numRuns: RUNS },
    );
  });
});
