// kubeconfig files for the lab's API server: the CA embedded, and the bearer token or the admin's
// client certificate, so that kubectl and the official clients need nothing else.
import { readFileSync, writeFileSync } from "node:fs";
import { stringify } from "yaml";
import type { ApiCredentials } from "./certs.js";

export interface KubeconfigOptions {
  /** https://127.0.0.1:PORT (the relay) or https://<fabric IP>:6443 */
  server: string;
  credentials: ApiCredentials;
  auth?: "token" | "certificate";
  name?: string;
}

const b64 = (file: string): string => readFileSync(file).toString("base64");

export function kubeconfigYaml(o: KubeconfigOptions): string {
  const name = o.name ?? "weft-lab";
  const user = o.auth === "certificate" ? { "client-certificate-data": b64(o.credentials.clientCert), "client-key-data": b64(o.credentials.clientKey) } : { token: readFileSync(o.credentials.tokenFile, "utf8").trim() };
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { server: o.server, "certificate-authority-data": b64(o.credentials.caCert) } }],
    users: [{ name: `${name}-admin`, user }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin`, namespace: "default" } }],
    "current-context": name,
    preferences: {},
  });
}

export function writeKubeconfig(path: string, o: KubeconfigOptions): string {
  writeFileSync(path, kubeconfigYaml(o), { mode: 0o600 });
  return path;
}
