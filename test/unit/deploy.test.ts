// deploy/: every manifest parses and is valid against the Kubernetes API schema (kubernetes-models),
// the conflist and net-conf in the ConfigMap pass weft's own parsers, and the DaemonSet carries what
// weft relies on.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ServiceAccount, ConfigMap, Namespace } from "kubernetes-models/v1";
import { DaemonSet } from "kubernetes-models/apps/v1";
import { ClusterRole, ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { parseConfig } from "../../cni/config.js";
import { parseDaemonArgs } from "../../daemon/config.js";
import { weftPluginsOf } from "../../ipam/plugin-networks.js";
import { parseNetworkConfig } from "../../ipam/network-config.js";
import { WATCHED_RESOURCES } from "../../daemon/kube-watches.js";
import { resourceName } from "../../kube/resources.js";

const ROOT = resolve(import.meta.dirname, "../..");
const docs = parseAllDocuments(readFileSync(resolve(ROOT, "deploy/weft.yml"), "utf8")).map((d) => {
  if (d.errors.length) throw new Error(d.errors.map((e) => e.message).join("; "));
  return d.toJS() as { kind: string; metadata: { name: string }; data?: Record<string, string> };
});
const byKind = (kind: string) => docs.filter((d) => d.kind === kind);
const models: Record<string, new (x: never) => { validate(): void }> = { Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, ConfigMap, DaemonSet };

describe("deploy/weft.yml", () => {
  it("holds a Namespace, a ServiceAccount, its ClusterRole and binding, a ConfigMap and a DaemonSet, each valid against the API schema", () => {
    expect(docs.map((d) => d.kind)).toEqual(["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "DaemonSet"]);
    for (const d of docs) {
      const Model = models[d.kind];
      expect(Model, d.kind).toBeDefined();
      expect(() => new Model!(d as never).validate(), `${d.kind} ${d.metadata.name}`).not.toThrow();
    }
  });

  it("lets weftd's service account get, list and watch what weftd watches, and nothing else", () => {
    const role = byKind("ClusterRole")[0] as unknown as { metadata: { name: string }; rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    const granted = role.rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${v} ${g ? `${res}.${g}` : res}`)))).sort();
    // What weftd's informers watch (daemon/kube-watches.ts), named as RBAC names them.
    const watched = WATCHED_RESOURCES.map(resourceName);
    expect(granted).toEqual(watched.flatMap((r) => ["get", "list", "watch"].map((v) => `${v} ${r}`)).sort());
    const sa = byKind("ServiceAccount")[0] as unknown as { metadata: { name: string; namespace: string }; automountServiceAccountToken?: boolean };
    expect(sa.automountServiceAccountToken).not.toBe(false);
    const binding = byKind("ClusterRoleBinding")[0] as unknown as { roleRef: object; subjects: object[] };
    expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role.metadata.name });
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: sa.metadata.name, namespace: sa.metadata.namespace }]);
    const pod = (byKind("DaemonSet")[0] as unknown as { spec: { template: { spec: { serviceAccountName: string; automountServiceAccountToken?: boolean } } } }).spec.template.spec;
    expect(pod.serviceAccountName).toBe(sa.metadata.name);
    expect(pod.automountServiceAccountToken).toBe(true);
  });

  it("ships a conflist and a net-conf that weft's own parsers accept", () => {
    const cm = byKind("ConfigMap")[0]!;
    const list = JSON.parse(cm.data?.["cni-conf.json"] ?? "") as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
    expect(list.plugins.map((p) => p.type)).toEqual(["weft", "portmap"]);
    expect(list.cniVersion).toBe("1.0.0"); // the reference portmap accepts up to 1.0.0
    expect(parseConfig({ ...list.plugins[0], cniVersion: list.cniVersion, name: list.name })).toMatchObject({ subnetFile: "/run/weft/subnet.env", bridge: "cni0" });
    expect(parseNetworkConfig(cm.data?.["net-conf.json"])).toMatchObject({ network: "10.244.0.0/16", backend: { vni: 1, port: 8472 } });
    expect(cm.data?.["etcd-endpoints"]).toMatch(/^https?:\/\//);
  });

  it("runs weftd as weft needs: host network, every taint tolerated, NET_ADMIN and NET_RAW but not privileged, probes, one node at a time", () => {
    interface Container {
      name: string;
      command: string[];
      args: string[];
      env: { name: string; valueFrom?: { configMapKeyRef?: object } }[];
      securityContext: object;
      livenessProbe: { httpGet: object };
      readinessProbe: { httpGet: object };
      resources: { requests?: object };
    }
    const ds = byKind("DaemonSet")[0] as unknown as { spec: { updateStrategy: { rollingUpdate: { maxUnavailable: number } }; template: { spec: Record<string, unknown> & { containers: Container[]; initContainers: Container[]; tolerations: object[]; volumes: { name: string; hostPath?: { path: string } }[] } } } };
    const pod = ds.spec.template.spec;
    expect(pod.hostNetwork).toBe(true);
    expect(pod.priorityClassName).toBe("system-node-critical");
    expect(pod.tolerations).toEqual([{ operator: "Exists" }]);
    expect(ds.spec.updateStrategy.rollingUpdate.maxUnavailable).toBe(1);
    const weftd = pod.containers.find((c) => c.name === "weftd")!;
    expect(weftd.securityContext).toEqual({ privileged: false, capabilities: { add: ["NET_ADMIN", "NET_RAW"] } });
    expect(weftd.livenessProbe.httpGet).toMatchObject({ path: "/healthz", port: 9901 });
    expect(weftd.readinessProbe.httpGet).toMatchObject({ path: "/readyz", port: 9901 });
    expect(weftd.resources.requests).toBeDefined();
    expect(weftd.env.find((e) => e.name === "WEFTD_ETCD_ENDPOINTS")?.valueFrom?.configMapKeyRef).toEqual({ name: "weft-config", key: "etcd-endpoints" });
    // the daemon's own flag parser accepts the args
    expect(parseDaemonArgs(weftd.args, "test")).toMatchObject({ netConf: "/etc/weft/net-conf.json", ipMasq: true, subnetFile: "/run/weft/subnet.env" });
    expect(pod.volumes.map((v) => v.hostPath?.path).filter(Boolean).sort()).toEqual(["/etc/cni/net.d", "/opt/cni/bin", "/run/weft", "/run/xtables.lock", "/var/lib/cni", "/var/lib/weft"]);
    // Nothing told twice: weftd reads the conflist the runtime reads (mounted where the runtime has it)
    // and finds the plugin's records and subnet.env through it; the one path it is given is the same.
    expect(weftd.args.some((a) => /--data-dir|--cni-network/.test(a))).toBe(false);
    const mounts = (weftd as unknown as { volumeMounts: { name: string; mountPath: string }[] }).volumeMounts;
    const cfg = parseDaemonArgs(weftd.args, "test");
    expect(mounts.find((m) => m.name === "cni-conf")?.mountPath).toBe(cfg.cniConfDir);
    const cm = byKind("ConfigMap")[0] as unknown as { data: Record<string, string> };
    const [network] = weftPluginsOf(JSON.parse(cm.data["cni-conf.json"]!), "10-weft.conflist");
    expect(network?.subnetFile).toBe(cfg.subnetFile);
    expect(mounts.some((m) => m.name === "cni-data" && network!.dataDir.startsWith(m.mountPath))).toBe(true);
    for (const init of pod.initContainers) expect(init.command.join(" ")).toMatch(/cp .* \S+\.tmp && .*mv -f \S+\.tmp /);
    // The one executable: the daemon through its weftd link, the plugin installed from the file itself.
    expect(weftd.command).toEqual(["/usr/local/bin/weftd"]);
    expect(pod.initContainers.find((c) => c.name === "install-cni-plugin")!.command.join(" ")).toMatch(/^\/bin\/sh -c cp \/usr\/local\/bin\/weft \/opt\/cni\/bin\/\.weft\.tmp /);
  });
});

describe("deploy/Containerfile", () => {
  it("builds in a node stage and copies the one executable, with its links, into a slim image with iptables", () => {
    const text = readFileSync(resolve(ROOT, "deploy/Containerfile"), "utf8");
    const stages = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(stages).toEqual(["docker.io/library/node:20-bookworm", "docker.io/library/debian:bookworm-slim"]);
    expect(text).toMatch(/npm ci/);
    expect(text).toMatch(/npm run build/);
    expect(text).toMatch(/install -y --no-install-recommends iptables nftables/);
    expect([...text.matchAll(/^COPY --from=build (.+)$/gm)].map((m) => m[1])).toEqual(["/src/dist/bin/weft /usr/local/bin/weft"]);
    expect(text).toMatch(/^RUN ln -s weft \/usr\/local\/bin\/weftd && ln -s weft \/usr\/local\/bin\/ipamctl$/m);
    expect(text).toMatch(/^ENTRYPOINT \["\/usr\/local\/bin\/weftd"\]$/m);
    for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) for (const src of m[1]!.split(" ")) if (src !== ".") expect(existsSync(resolve(ROOT, src)), src).toBe(true);
  });
});
