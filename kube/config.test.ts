import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { inClusterAvailable, inClusterConfig, loadKubeconfig, tokenFromFile } from "./config.js";
import { KubeConfigError } from "./errors.js";

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "weft-kubeconfig-"));
  mkdirSync(join(dir, "sub"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const CA = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = { server: "https://10.0.0.1:6443" }, extra: Record<string, unknown> = {}): string {
  const file = join(dir, "sub", "config");
  writeFileSync(
    file,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      "current-context": "main",
      clusters: [{ name: "c1", cluster }, { name: "other", cluster: { server: "https://other:6443" } }],
      users: [{ name: "u1", user }],
      contexts: [{ name: "main", context: { cluster: "c1", user: "u1", namespace: "kube-weft" } }, { name: "second", context: { cluster: "other", user: "u1" } }],
      ...extra,
    }),
  );
  return file;
}

describe("kubeconfig", () => {
  it("reads the current context: server, inline CA, a token", () => {
    const file = kubeconfig({ token: "abc" }, { server: "https://10.0.0.1:6443/", "certificate-authority-data": Buffer.from(CA).toString("base64"), "tls-server-name": "kubernetes" });
    const c = loadKubeconfig(file);
    expect(c).toMatchObject({ server: "https://10.0.0.1:6443", identity: "token", namespace: "kube-weft", tlsServerName: "kubernetes", insecureSkipTlsVerify: false, source: `kubeconfig ${file} (context main)` });
    expect(c.ca?.toString()).toBe(CA);
    expect(c.token?.()).toBe("abc");
  });

  it("takes a named context instead of the current one", () => {
    const c = loadKubeconfig(kubeconfig({ token: "abc" }), { context: "second" });
    expect(c.server).toBe("https://other:6443");
  });

  it("resolves relative certificate, key, CA and token files against the kubeconfig's directory", () => {
    writeFileSync(join(dir, "sub", "ca.crt"), CA);
    writeFileSync(join(dir, "sub", "client.crt"), "CERT");
    writeFileSync(join(dir, "sub", "client.key"), "KEY");
    const c = loadKubeconfig(kubeconfig({ "client-certificate": "client.crt", "client-key": "client.key" }, { server: "https://k:6443", "certificate-authority": "ca.crt", "insecure-skip-tls-verify": true }));
    expect({ ca: c.ca?.toString(), cert: c.cert?.toString(), key: c.key?.toString(), identity: c.identity, insecure: c.insecureSkipTlsVerify }).toEqual({ ca: CA, cert: "CERT", key: "KEY", identity: "client-certificate", insecure: true });
  });

  it("reads embedded client certificate data", () => {
    const c = loadKubeconfig(kubeconfig({ "client-certificate-data": Buffer.from("CERT").toString("base64"), "client-key-data": Buffer.from("KEY").toString("base64") }));
    expect([c.cert?.toString(), c.key?.toString(), c.identity]).toEqual(["CERT", "KEY", "client-certificate"]);
  });

  it("reads a token file, relative, and re-reads it once it is older than the refresh period", () => {
    writeFileSync(join(dir, "sub", "token"), "first\n");
    const c = loadKubeconfig(kubeconfig({ tokenFile: "token" }));
    expect([c.identity, c.token?.()]).toEqual(["token-file", "first"]);
    let now = 0;
    const source = tokenFromFile(join(dir, "sub", "token"), "tokenFile", 60_000, () => now);
    writeFileSync(join(dir, "sub", "token"), "second\n");
    now = 59_000;
    expect(source()).toBe("first");
    now = 61_000;
    expect(source()).toBe("second");
    rmSync(join(dir, "sub", "token"));
    now = 200_000;
    expect(source()).toBe("second"); // a moment without the file keeps the token we have
  });

  it("names the file and field of what is wrong", () => {
    const file = kubeconfig({ "client-certificate": "missing.crt", "client-key": "missing.key" });
    expect(() => loadKubeconfig(file)).toThrow(KubeConfigError);
    expect(() => loadKubeconfig(file)).toThrow(new RegExp(`^${file}: users\\[u1\\]\\.client-certificate: cannot read ${join(dir, "sub", "missing.crt")}`));
    expect(() => loadKubeconfig(kubeconfig({ exec: { command: "x" } }))).toThrow(/users\[u1\]\.exec: not supported/);
    expect(() => loadKubeconfig(kubeconfig({ "client-certificate-data": "Q0VSVA==" }))).toThrow(/users\[u1\]\.client-key: missing/);
    expect(() => loadKubeconfig(kubeconfig({ token: "t" }), { context: "nope" })).toThrow(/contexts: no entry named "nope" \(have: main, second\)/);
    expect(() => loadKubeconfig(kubeconfig({ token: "t" }, { server: "10.0.0.1:6443" }))).toThrow(/clusters\[c1\]\.server: "10\.0\.0\.1:6443" is not an http\(s\) URL/);
    expect(() => loadKubeconfig(join(dir, "absent"))).toThrow(/absent: \(file\): cannot read it/);
  });
});

describe("in-cluster configuration", () => {
  const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };

  it("reads the service account's token, CA and namespace, and the API's address from the environment", () => {
    writeFileSync(join(dir, "token"), "sa-token\n");
    writeFileSync(join(dir, "ca.crt"), CA);
    writeFileSync(join(dir, "namespace"), "kube-weft");
    expect(inClusterAvailable({ dir, env })).toBe(true);
    const c = inClusterConfig({ dir, env });
    expect(c).toMatchObject({ server: "https://10.96.0.1:443", identity: "in-cluster", namespace: "kube-weft", source: "in-cluster" });
    expect([c.token?.(), c.ca?.toString()]).toEqual(["sa-token", CA]);
    expect(inClusterConfig({ dir, env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" } }).server).toBe("https://[fd00::1]:443");
  });

  it("is not available without the environment or the token, and says what is missing", () => {
    expect(inClusterAvailable({ dir, env })).toBe(false); // no token file
    writeFileSync(join(dir, "token"), "t");
    expect(inClusterAvailable({ dir, env: {} })).toBe(false);
    expect(() => inClusterConfig({ dir, env: {} })).toThrow(/KUBERNETES_SERVICE_HOST: not set/);
    expect(() => inClusterConfig({ dir, env })).toThrow(new RegExp(`${join(dir, "ca.crt")}: ca.crt: cannot read the cluster's CA`));
  });
});
