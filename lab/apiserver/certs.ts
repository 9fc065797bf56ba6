// The API server's credentials, made with the openssl CLI: a CA, a serving certificate whose SANs are
// every name and address clients use (fabric IPs, loopback, the in-cluster service names), a client
// certificate for an admin user (CN = user), and a random bearer token in a 0600 file.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface ApiCredentials {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  tokenFile: string;
}

const SERVICE_NAMES = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"];

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
}

function signed(dir: string, name: string, subject: string, ca: { cert: string; key: string }, ext: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr, "-subj", subject]);
  openssl(["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-out", cert, "-days", "365", "-sha256", "-extfile", extFile]);
  chmodSync(key, 0o600);
  return { cert, key };
}

/** Makes every file in `dir`; `addresses`: the IPs the server listens on besides loopback. */
export function makeApiCredentials(dir: string, addresses: string[] = []): ApiCredentials {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = { cert: join(dir, "ca.crt"), key: join(dir, "ca.key") };
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca.key, "-out", ca.cert, "-days", "3650", "-subj", "/CN=weft-lab-ca", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
  chmodSync(ca.key, 0o600);
  const sans = [...new Set(["127.0.0.1", "::1", ...addresses])].map((ip) => `IP:${ip}`).concat(SERVICE_NAMES.map((n) => `DNS:${n}`));
  const server = signed(dir, "apiserver", "/CN=kube-apiserver", ca, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans.join(",")}\n`);
  const client = signed(dir, "admin", "/O=system:masters/CN=admin", ca, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n");
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, `${randomBytes(24).toString("base64url")}\n`, { mode: 0o600 });
  return { dir, caCert: ca.cert, caKey: ca.key, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key, tokenFile };
}

/** The files makeApiCredentials made in `dir` (a restarted server takes them again). */
export function credentialsIn(dir: string): ApiCredentials {
  return { dir, caCert: join(dir, "ca.crt"), caKey: join(dir, "ca.key"), serverCert: join(dir, "apiserver.crt"), serverKey: join(dir, "apiserver.key"), clientCert: join(dir, "admin.crt"), clientKey: join(dir, "admin.key"), tokenFile: join(dir, "token") };
}
