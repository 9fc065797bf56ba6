// etcd with TLS and client certificates, end to end: certificates made here with openssl; ipamctl and
// weftd (in a namespace of its own, beside its etcd) work with the right files, and every wrong or
// missing one is a clear error — never a fallback to plaintext, never a write.
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEtcd, type EtcdServer } from "../helpers/etcd.js";
import { NetnsPool, run } from "../helpers/netns.js";

const BIN = resolve(import.meta.dirname, "../../dist/bin");
const PREFIX = "/weft-tls/network";
const ETCD_IP = "10.99.0.1";

/** A CA, and certificates it signs (server ones with IP SANs), as PEM files in `dir`. */
function makeCa(dir: string, name: string): { cert: string; key: string; issue(who: string, sans?: string[]): { cert: string; key: string } } {
  const key = join(dir, `${name}-ca.key`);
  const cert = join(dir, `${name}-ca.crt`);
  const ssl = (...args: string[]): string => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=${name} CA`);
  return {
    cert,
    key,
    issue(who, sans = []) {
      const k = join(dir, `${name}-${who}.key`);
      const csr = join(dir, `${name}-${who}.csr`);
      const c = join(dir, `${name}-${who}.crt`);
      const ext = join(dir, `${name}-${who}.ext`);
      writeFileSync(ext, `extendedKeyUsage=serverAuth,clientAuth\n${sans.length ? `subjectAltName=${sans.map((s) => `IP:${s}`).join(",")}\n` : ""}`);
      ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", k, "-out", csr, "-subj", `/CN=${who}`);
      ssl("x509", "-req", "-in", csr, "-CA", cert, "-CAkey", key, "-CAcreateserial", "-out", c, "-days", "2", "-extfile", ext);
      return { cert: c, key: k };
    },
  };
}

describe("etcd over TLS with client certificates", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-tls-"));
  const pool = new NetnsPool("tls");
  let ca: ReturnType<typeof makeCa>;
  let client: { cert: string; key: string };
  let rogue: { cert: string; key: string };
  let rogueCa = "";
  let etcd: EtcdServer;
  let netns = "";
  let weftd: ChildProcess | undefined;

  const etcdctl = (...args: string[]): string =>
    run("ip", ["netns", "exec", netns, "etcdctl", `--endpoints=${etcd.endpoint}`, `--cacert=${ca.cert}`, `--cert=${client.cert}`, `--key=${client.key}`, ...args]);
  const ipamctl = (tls: string[], ...args: string[]): { code: number; out: string; err: string } => {
    const r = spawnSync("ip", ["netns", "exec", netns, join(BIN, "ipamctl"), "--etcd-endpoints", etcd.endpoint, "--etcd-prefix", PREFIX, "--timeout", "2", ...tls, ...args], { encoding: "utf8", env: { PATH: process.env.PATH } });
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
  const good = (): string[] => ["--etcd-cafile", ca.cert, "--etcd-certfile", client.cert, "--etcd-keyfile", client.key];

  beforeAll(async () => {
    ca = makeCa(dir, "weft");
    const server = ca.issue("etcd", [ETCD_IP]);
    client = ca.issue("node1");
    const other = makeCa(dir, "rogue");
    rogue = other.issue("intruder");
    rogueCa = other.cert;
    netns = pool.create();
    // No dummy driver in every kernel: a veth pair inside the namespace gives weftd an underlay.
    run("ip", ["-n", netns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"]);
    run("ip", ["-n", netns, "link", "set", "eth1", "up"]);
    run("ip", ["-n", netns, "addr", "add", `${ETCD_IP}/24`, "dev", "eth0"]);
    run("ip", ["-n", netns, "link", "set", "eth0", "up"]);
    etcd = await startEtcd({ netns, host: ETCD_IP, tls: { ca: ca.cert, cert: server.cert, key: server.key, clientCert: client.cert, clientKey: client.key } });
  }, 60_000);

  afterAll(async () => {
    if (weftd?.pid && weftd.exitCode === null) weftd.kill("SIGKILL");
    await etcd?.stop();
    pool.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it("ipamctl with the CA, certificate and key writes and reads the network config", () => {
    const conf = join(dir, "net-conf.json");
    writeFileSync(conf, JSON.stringify({ Network: "10.244.0.0/16", SubnetLen: 24, Backend: { Type: "vxlan" } }));
    const set = ipamctl(good(), "config", "set", conf);
    expect(set.err).toBe("");
    expect(set.code).toBe(0);
    expect(JSON.parse(etcdctl("get", `${PREFIX}/config`, "--print-value-only"))).toMatchObject({ Network: "10.244.0.0/16" });
    expect(ipamctl(good(), "config", "get").out).toContain("10.244.0.0/16");
  });

  it.each([
    ["no TLS files (plaintext to an https endpoint)", [], /etcd endpoint https:\/\/10\.99\.0\.1:2379 needs --etcd-cafile/],
    ["the CA only (no client certificate)", ["--etcd-cafile", "CA"], /etcd refused our client certificate \(TLS alert: bad certificate\)/],
    ["a client certificate from another CA", ["--etcd-cafile", "CA", "--etcd-certfile", "ROGUE", "--etcd-keyfile", "ROGUEKEY"], /etcd refused our client certificate/],
    ["a CA that did not sign etcd's certificate", ["--etcd-cafile", "ROGUECA", "--etcd-certfile", "CERT", "--etcd-keyfile", "KEY"], /etcd's certificate could not be verified with --etcd-cafile/],
    ["a certificate without its key", ["--etcd-cafile", "CA", "--etcd-certfile", "CERT"], /certificate and key must be given together/],
    ["a CA file that does not exist", ["--etcd-cafile", "/nonexistent/ca.crt", "--etcd-certfile", "CERT", "--etcd-keyfile", "KEY"], /CA file \/nonexistent\/ca\.crt: ENOENT/],
  ])("refuses %s with a clear error and writes nothing", (_name, flags, message) => {
    const subst = (f: string): string => ({ CA: ca.cert, CERT: client.cert, KEY: client.key, ROGUE: rogue.cert, ROGUEKEY: rogue.key, ROGUECA: rogueCa })[f] ?? f;
    const before = etcdctl("get", `${PREFIX}/config`, "--print-value-only");
    const conf = join(dir, "other.json");
    writeFileSync(conf, JSON.stringify({ Network: "10.99.0.0/16", SubnetLen: 24 }));
    const r = ipamctl(flags.map(subst), "config", "set", "--force", conf);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message);
    expect(r.err.split("\n").filter(Boolean).length).toBeLessThanOrEqual(2);
    expect(etcdctl("get", `${PREFIX}/config`, "--print-value-only")).toBe(before);
  });

  it("refuses TLS files with a plain http endpoint", () => {
    const r = spawnSync(join(BIN, "ipamctl"), ["--etcd-endpoints", "http://127.0.0.1:1", "--etcd-prefix", PREFIX, ...good(), "leases"], { encoding: "utf8", env: { PATH: process.env.PATH } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/TLS files were given but an endpoint is plain http/);
  });

  it("weftd with TLS acquires its lease and writes subnet.env; with a missing key file it stops with the reason", async () => {
    const subnetFile = join(dir, "subnet.env");
    const args = ["--etcd-endpoints", etcd.endpoint, "--etcd-prefix", PREFIX, "--iface", "eth0", "--subnet-file", subnetFile, "--data-dir", join(dir, "cni"), "--healthz-addr", "127.0.0.1:19901", "--lease-ttl", "60"];
    const bad = spawnSync("ip", ["netns", "exec", netns, join(BIN, "weftd"), ...args, "--etcd-cafile", ca.cert, "--etcd-certfile", client.cert, "--etcd-keyfile", join(dir, "missing.key")], { encoding: "utf8", env: { PATH: process.env.PATH }, timeout: 20_000 });
    expect(bad.status).not.toBe(0);
    expect(`${bad.stdout}${bad.stderr}`).toMatch(/key .*missing\.key: ENOENT/);
    expect(existsSync(subnetFile)).toBe(false);

    weftd = spawn("ip", ["netns", "exec", netns, join(BIN, "weftd"), ...args, ...good()], { stdio: "ignore", env: { PATH: process.env.PATH } });
    const deadline = Date.now() + 15_000;
    while (!existsSync(subnetFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const env = readFileSync(subnetFile, "utf8");
    expect(env).toMatch(/^FLANNEL_SUBNET=10\.244\.\d+\.1\/24$/m);
    const leases = etcdctl("get", `${PREFIX}/subnets/`, "--prefix", "--keys-only").split("\n").filter(Boolean);
    expect(leases).toHaveLength(1);
    expect(leases[0]).toBe(`${PREFIX}/subnets/${/FLANNEL_SUBNET=(10\.244\.\d+)\.1\/24/.exec(env)![1]}.0-24`);
  }, 40_000);
});
