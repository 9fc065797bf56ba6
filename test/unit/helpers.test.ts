import { afterAll, describe, expect, it } from "vitest";
import { startEtcd, type EtcdServer } from "../helpers/etcd.js";
import { ipJson, NetnsPool, run } from "../helpers/netns.js";

describe("test helpers", () => {
  const pool = new NetnsPool("hp");
  const servers: EtcdServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
    pool.cleanup();
  });

  it("starts an etcd on loopback that answers reads and writes", async () => {
    const etcd = await startEtcd();
    servers.push(etcd);
    run("etcdctl", [`--endpoints=${etcd.endpoint}`, "put", "/k", "v"]);
    expect(run("etcdctl", [`--endpoints=${etcd.endpoint}`, "get", "--print-value-only", "/k"]).trim()).toBe("v");
  });

  it("starts an etcd inside a namespace, reachable only there", async () => {
    const ns = pool.create();
    run("ip", ["-n", ns, "addr", "add", "10.123.0.1/32", "dev", "lo"]);
    const etcd = await startEtcd({ netns: ns, host: "10.123.0.1" });
    servers.push(etcd);
    const ctl = (...a: string[]): string => run("ip", ["netns", "exec", ns, "etcdctl", `--endpoints=${etcd.endpoint}`, ...a]);
    ctl("put", "/k", "in-netns");
    expect(ctl("get", "--print-value-only", "/k").trim()).toBe("in-netns");
    const links = ipJson<{ ifname: string }[]>(ns, ["link"]);
    expect(links.map((l) => l.ifname)).toEqual(["lo"]);
  });
});
