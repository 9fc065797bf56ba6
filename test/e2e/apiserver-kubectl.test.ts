// The lab's API server driven by kubectl (1.32, and 1.20 where unpacked): create, client-side apply
// twice, server-side apply with conflicts, get in every output, label, annotate, delete, examples/.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRoot } from "../helpers/netns.js";
import { KUBECTL_OLD, startTestApiServer, type TestApiServer } from "../helpers/apiserver.js";

const deployment = (replicas: number, env: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80}]
        env: ${env}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
`;

describe.skipIf(!isRoot())("API server with kubectl", () => {
  let s: TestApiServer;
  let dir: string;
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const ok = (args: string[], old = false): string => {
    const r = s.kubectl(args, { old });
    expect(r.err + (r.code === 0 ? "" : `exit ${r.code}`), `kubectl ${args.join(" ")}`).toBe("");
    return r.out;
  };

  beforeAll(async () => {
    s = await startTestApiServer();
    dir = mkdtempSync(join(tmpdir(), "weft-kubectl-"));
  });
  afterAll(async () => {
    await s?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("applies client-side twice with a change: the field removed from the manifest is removed", () => {
    const f = file("web.yaml", deployment(2, `[{name: A, value: "1"}, {name: B, value: "2"}]`));
    expect(ok(["apply", "-f", f])).toBe("deployment.apps/web created\nservice/web created\n");
    writeFileSync(f, deployment(3, `[{name: A, value: "1"}]`));
    expect(ok(["apply", "-f", f])).toBe("deployment.apps/web configured\nservice/web unchanged\n");
    expect(ok(["get", "deploy", "web", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].env} {.metadata.generation}"])).toBe(`3 [{"name":"A","value":"1"}] 2`);
    const svc = JSON.parse(ok(["get", "svc", "web", "-o", "json"])) as { spec: { clusterIP: string; ports: { nodePort: number }[] } };
    expect(svc.spec.clusterIP).toMatch(/^10\.(9[6-9]|1[01]\d)\./);
    expect(svc.spec.ports[0]?.nodePort).toBeGreaterThanOrEqual(30000);
    const wide = ok(["get", "svc", "-o", "wide"]).split("\n");
    expect(wide[0]).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\s+SELECTOR$/);
    expect(wide[1]).toMatch(new RegExp(`^web\\s+NodePort\\s+${svc.spec.clusterIP}\\s+<none>\\s+80:${svc.spec.ports[0]?.nodePort}/TCP\\s+\\d+s\\s+app=web$`));
    expect(ok(["delete", "-f", f])).toBe(`deployment.apps "web" deleted\nservice "web" deleted\n`);
  });

  it("creates, labels, annotates and selects pods; -o wide has kube's columns; get -w sees a change", () => {
    const f = file("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p1, labels: {app: x}}\nspec:\n  containers: [{name: c, image: busybox}]\n");
    expect(ok(["create", "-f", f])).toBe("pod/p1 created\n");
    expect(s.kubectl(["create", "-f", f]).err).toBe(`Error from server (AlreadyExists): error when creating "${f}": pods "p1" already exists\n`);
    expect(ok(["label", "pod", "p1", "tier=a"])).toBe("pod/p1 labeled\n");
    expect(ok(["annotate", "pod", "p1", "note=hi"])).toBe("pod/p1 annotated\n");
    expect(ok(["get", "pod", "p1", "-o", "jsonpath={.metadata.labels.tier} {.metadata.annotations.note}"])).toBe("a hi");
    expect(ok(["get", "pods", "-l", "tier in (a,b)", "-o", "name"])).toBe("pod/p1\n");
    expect(ok(["get", "pods", "-l", "tier!=a", "-o", "name"])).toBe("");
    const wide = ok(["get", "pods", "-o", "wide"]).split("\n");
    expect(wide[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
    expect(wide[1]).toMatch(/^p1\s+0\/1\s+Pending\s+0\s+\d+s\s+<none>\s+<none>\s+<none>\s+<none>$/);
    const watch = s.kubectl(["get", "pods", "-w", "--request-timeout=3s"], { timeoutMs: 8000 });
    expect(watch.out).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\np1\s+0\/1\s+Pending/);
    expect(ok(["delete", "pod", "p1"])).toBe(`pod "p1" deleted\n`);
    expect(s.kubectl(["get", "pod", "p1"]).err).toBe(`Error from server (NotFound): pods "p1" not found\n`);
  });

  it("applies server-side: conflicts with another manager unless forced, omitted fields are removed", () => {
    const cm = (data: string) => file("cm.yaml", `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: conf}\ndata: {${data}}\n`);
    expect(ok(["apply", "--server-side", "--field-manager=alice", "-f", cm("a: '1', b: '2'")])).toBe("configmap/conf serverside-applied\n");
    expect(ok(["apply", "--server-side", "--field-manager=alice", "-f", cm("a: '1'")])).toBe("configmap/conf serverside-applied\n");
    expect(ok(["get", "cm", "conf", "-o", "jsonpath={.data}"])).toBe(`{"a":"1"}`);
    const conflict = s.kubectl(["apply", "--server-side", "--field-manager=bob", "-f", cm("a: '9'")]);
    expect(conflict.code).not.toBe(0);
    expect(conflict.err).toContain(`Apply failed with 1 conflict: conflict with "alice" using v1: .data.a`);
    expect(ok(["apply", "--server-side", "--force-conflicts", "--field-manager=bob", "-f", cm("a: '9'")])).toBe("configmap/conf serverside-applied\n");
    const managed = JSON.parse(ok(["get", "cm", "conf", "-o", "json", "--show-managed-fields"])) as { data: object; metadata: { managedFields: { manager: string; fieldsV1: object }[] } };
    expect(managed.data).toEqual({ a: "9" });
    expect(managed.metadata.managedFields.find((m) => m.manager === "bob")?.fieldsV1).toEqual({ "f:data": { ".": {}, "f:a": {} } });
    expect(JSON.stringify(managed.metadata.managedFields.find((m) => m.manager === "alice")?.fieldsV1 ?? {})).not.toContain("f:a");
  });

  it("takes the repository's examples recursively, answers get ep and api-resources", () => {
    // The ingress example brings its controller's namespace, which gets the name label as the real server sets it.
    const out = ok(["apply", "-R", "-f", "examples/"]);
    expect(out).toContain("namespace/ingress-nginx created");
    expect(ok(["get", "ns", "ingress-nginx", "-o", "jsonpath={.metadata.labels}"])).toBe(`{"kubernetes.io/metadata.name":"ingress-nginx"}`);
    expect(out).toContain("deployment.apps/hello-kubernetes created");
    expect(out).toContain("ingress.networking.k8s.io/");
    // No endpoints controller runs beside this server: the list is empty, as kubectl words it.
    expect(s.kubectl(["get", "ep"]).err).toBe("No resources found in default namespace.\n");
    const resources = ok(["api-resources", "--no-headers"]);
    for (const line of [/^pods\s+po\s+v1\s+true\s+Pod$/m, /^services\s+svc\s+v1\s+true\s+Service$/m, /^networkpolicies\s+netpol\s+networking\.k8s\.io\/v1\s+true\s+NetworkPolicy$/m, /^clusternetworkpolicies\s+cnp\s+policy\.networking\.k8s\.io\/v1alpha2\s+false\s+ClusterNetworkPolicy$/m]) expect(resources).toMatch(line);
    const deleted = ok(["delete", "-R", "-f", "examples/"]);
    expect(deleted).toContain(`deployment.apps "hello-kubernetes" deleted`);
  });

  it.skipIf(!existsSync(KUBECTL_OLD))("works with kubectl 1.20: create, apply twice, get", () => {
    const f = file("old.yaml", deployment(1, `[{name: A, value: "1"}]`).replace(/web/g, "old"));
    expect(ok(["create", "--save-config", "-f", f], true)).toBe("deployment.apps/old created\nservice/old created\n");
    writeFileSync(f, deployment(2, `[{name: A, value: "1"}]`).replace(/web/g, "old"));
    expect(ok(["apply", "-f", f], true)).toContain("deployment.apps/old configured");
    expect(ok(["get", "deploy", "old", "-o", "jsonpath={.spec.replicas}"], true)).toBe("2");
    expect(ok(["get", "svc", "old"], true)).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\nold\s+NodePort\s+10\./);
  });
});
