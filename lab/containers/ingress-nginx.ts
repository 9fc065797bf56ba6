// The lab's ingress-nginx controller: what a pod with an ingress-nginx controller image runs. It
// watches the API objects, renders nginx's configuration (ingress-conf.ts), checks it with `nginx -t`
// and reloads nginx with SIGHUP only when the text changed — a graceful reload: old workers finish the
// requests they have, so no connection is dropped. A configuration nginx refuses is logged and the
// running one is kept, as ingress-nginx does.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ENDPOINT_SLICES, INGRESS_CLASSES, INGRESSES, SECRETS, SERVICES } from "../../kube/kinds.js";
import { watchApiObjects } from "../../proxy/api-source.js";
import type { EndpointSlice, Service } from "../../proxy/model.js";
import { renderNginxConf } from "./ingress-conf.js";
import type { Ingress, IngressClass, Secret } from "../apiserver/ingress-model.js";

/** What the controller watches (ingress-nginx's informers). */
const KINDS = { ingresses: INGRESSES, ingressClasses: INGRESS_CLASSES, services: SERVICES, endpointSlices: ENDPOINT_SLICES, secrets: SECRETS };
interface Watched {
  ingresses: Ingress[];
  ingressClasses: IngressClass[];
  services: Service[];
  endpointSlices: EndpointSlice[];
  secrets: Secret[];
}

type Log = (msg: string, fields?: object) => void;

function writeIfChanged(file: string, data: string | Buffer, mode: number): void {
  if (existsSync(file) && readFileSync(file).equals(Buffer.from(data))) return;
  writeFileSync(`${file}.tmp`, data, { mode });
  renameSync(`${file}.tmp`, file);
}

/** Writes a kubernetes.io/tls Secret's certificate and key (0600) and says where. */
function tlsFilesFrom(secrets: Secret[], dir: string): (key: string) => { cert: string; key: string } | undefined {
  return (key) => {
    const s = secrets.find((x) => `${x.metadata.namespace ?? "default"}/${x.metadata.name}` === key && x.type === "kubernetes.io/tls");
    if (!s) return undefined;
    const value = (k: string): string | undefined => s.stringData?.[k] ?? (s.data?.[k] ? Buffer.from(s.data[k], "base64").toString() : undefined);
    const cert = value("tls.crt");
    const pem = value("tls.key");
    if (!cert || !pem) return undefined;
    const base = join(dir, key.replace("/", "_"));
    writeIfChanged(`${base}.crt`, cert, 0o600);
    writeIfChanged(`${base}.key`, pem, 0o600);
    return { cert: `${base}.crt`, key: `${base}.key` };
  };
}

export function runIngressNginx(kubeconfig: string, workDir: string, podKey: string, log: Log): void {
  const prefix = join(workDir, "ingress-nginx", podKey.replace("/", "_"));
  mkdirSync(join(prefix, "tls"), { recursive: true });
  chmodSync(join(prefix, "tls"), 0o700);
  const confFile = join(prefix, "nginx.conf");
  let nginx: ChildProcess | undefined;
  let current = "";
  const onChange = (api: Watched): void => {
    const conf = renderNginxConf({ ingresses: api.ingresses, classes: api.ingressClasses, services: api.services, endpointSlices: api.endpointSlices, tlsFiles: tlsFilesFrom(api.secrets, join(prefix, "tls")), prefix, user: "root" });
    if (conf === current) return;
    writeFileSync(`${confFile}.next`, conf);
    const test = spawnSync("nginx", ["-t", "-q", "-c", `${confFile}.next`, "-p", prefix, "-e", join(prefix, "error.log")], { encoding: "utf8" });
    if (test.status !== 0) return log("nginx refused the new configuration; the running one is kept", { error: test.stderr.trim() });
    renameSync(`${confFile}.next`, confFile);
    current = conf;
    if (!nginx) {
      nginx = spawn("nginx", ["-c", confFile, "-p", prefix, "-e", join(prefix, "error.log")], { stdio: "inherit" });
      nginx.on("exit", (code, signal) => {
        log("nginx exited", { code, signal });
        process.exit(1);
      });
      log("nginx started", { pid: nginx.pid, conf: confFile });
    } else {
      nginx.kill("SIGHUP");
      log("nginx reloaded", { conf: confFile });
    }
  };
  watchApiObjects(kubeconfig, KINDS, (o) => onChange(o as unknown as Watched), (err) => log("cannot read the cluster state", { error: err.message }), "ingress-nginx");
  // Stopping the pod stops nginx gracefully (SIGQUIT: finish the requests in flight).
  process.on("SIGTERM", () => {
    nginx?.removeAllListeners("exit");
    nginx?.kill("SIGQUIT");
    process.exit(0);
  });
}
