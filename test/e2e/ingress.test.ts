// Ingress on the lab: examples/ingress applied as a user would, served by nginx in an ingress-nginx
// controller pod on the weft network, reached from the WAN through its LoadBalancer address and its
// NodePorts. Host and path rules, the default backend, TLS, gRPC, and reloads that drop nothing.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { LAB, useLab } from "../helpers/lab.js";
import { EXAMPLES, kube, labClient, readyEndpoints, within } from "../helpers/services.js";
import { PODS } from "../../kube/resources.js";

const NODE_IPS = ["192.168.56.11", "192.168.56.12"];
const INGRESS = resolve(EXAMPLES, "ingress");

describe("Ingress served by nginx in an ingress-nginx controller pod", () => {
  const { lab, labInBackground, stateDir, status } = useLab("ing", ["--nodes", "2", "--pods-per-node", "0"]);
  const k = kube(lab);
  const ca = join(stateDir, "example-ca.crt");
  let lb = "";
  /** What answered `url` from the WAN with `host` resolved to `ip` (curl --resolve): the hello pod's name, or the status. */
  const fromWan = (url: string, ip: string, extra: string[] = []): string => {
    const host = new URL(url).hostname;
    const port = new URL(url).port || (url.startsWith("https") ? "443" : "80");
    const out = k.exec("wan", "curl", "-s", "-m", "2", "--cacert", ca, "--resolve", `${host}:${port}:${ip}`, "-w", "\n%{http_code} %{http_version}", ...extra, url);
    const pod = /pod:<\/th><td>([^<]+)/.exec(out)?.[1];
    return pod ?? out.split("\n").at(-1) ?? "";
  };

  it("routes by host and path (Prefix by path element, Exact), with the default backend for the rest", async () => {
    k.must("apply", "-f", INGRESS);
    // The example's certificate is the client's CA: it is self-signed for both hosts.
    const secret = parseAllDocuments(readFileSync(join(INGRESS, "20-ingress.yaml"), "utf8")).map((d) => d.toJS() as { kind: string; data?: Record<string, string> }).find((d) => d.kind === "Secret");
    writeFileSync(ca, Buffer.from(secret?.data?.["tls.crt"] ?? "", "base64"));
    lb = (JSON.parse(k.must("get", "svc", "ingress-nginx-controller", "-n", "ingress-nginx", "-o", "json")) as { status: { loadBalancer: { ingress: { ip: string }[] } } }).status.loadBalancer.ingress[0]!.ip;
    await within(20_000, "the controller serves hello.weft.test", () => /^hello-one-/.test(fromWan("http://hello.weft.test/one", lb)));
    const cases: [string, RegExp][] = [
      ["http://hello.weft.test/one", /^hello-one-/],
      ["http://hello.weft.test/one/deeper", /^hello-one-/],
      ["http://hello.weft.test/two", /^hello-two-/],
      ["http://hello.weft.test/two/x", /^hello-two-/],
      ["http://hello.weft.test/exact", /^hello-two-/],
      // Exact means exactly; Prefix /two is not /twofold: both fall to the default backend (hello-one).
      ["http://hello.weft.test/exact/more", /^hello-one-/],
      ["http://hello.weft.test/twofold", /^hello-one-/],
      ["http://unknown.example/", /^hello-one-/],
    ];
    for (const [url, want] of cases) expect(fromWan(url, lb), url).toMatch(want);
    // The same through the NodePort of every node.
    for (const ip of NODE_IPS) expect(fromWan("http://hello.weft.test:30076/two", ip)).toMatch(/^hello-two-/);
  }, 60_000);

  it("terminates TLS with the Secret's certificate, speaks HTTP/2 by ALPN, and refuses unknown server names", () => {
    expect(fromWan("https://hello.weft.test/two", lb)).toMatch(/^hello-two-/);
    expect(k.exec("wan", "curl", "-s", "-o", "/dev/null", "-w", "%{http_version}", "--cacert", ca, "--resolve", `hello.weft.test:443:${lb}`, "https://hello.weft.test/one")).toBe("2");
    for (const ip of NODE_IPS) expect(fromWan("https://hello.weft.test:30077/one", ip)).toMatch(/^hello-one-/);
    const unknown = spawnSync("ip", ["netns", "exec", status().nodes[0]!.netns.replace(/node1$/, "wan"), "curl", "-s", "-m", "2", "-k", `https://${lb}/`]);
    expect(unknown.status).toBe(35); // TLS handshake refused: no certificate for that name
  });

  it("proxies gRPC (health, 1 MiB echo, server stream) to the backend named by the Ingress", () => {
    const target = { host: lb, ports: { gRPC: 443 }, name: "grpc-echo-", ingress: { host: "hello.weft.test", grpcHost: "grpc.weft.test", ca: readFileSync(ca, "utf8") } };
    const wanNs = status().nodes[0]!.netns.replace(/node1$/, "wan");
    const r = spawnSync("nsenter", [`--net=/var/run/netns/${wanNs}`, process.execPath, LAB, "agent", "probe-row", JSON.stringify(target)], { encoding: "utf8" });
    const grpcCell = (JSON.parse(r.stdout) as { protocol: string; ok?: boolean; note?: string }[]).find((c) => c.protocol === "gRPC");
    expect(grpcCell, r.stderr).toMatchObject({ ok: true });
  });

  it("reloads nginx on every change without failing a request, and answers 503 when a backend has no endpoints", async () => {
    const wanNs = status().nodes[0]!.netns.replace(/node1$/, "wan");
    const script = `for i in $(seq 1 150); do curl -s -o /dev/null -m 2 -w '%{http_code}\\n' --resolve hello.weft.test:80:${lb} http://hello.weft.test/two; sleep 0.02; done`;
    const loop = spawn("ip", ["netns", "exec", wanNs, "sh", "-c", script], { stdio: ["ignore", "pipe", "ignore"] });
    let codes = "";
    loop.stdout.on("data", (d) => (codes += d));
    const finished = new Promise<void>((r) => loop.on("exit", () => r()));
    const scaled = readFileSync(join(INGRESS, "10-backends.yaml"), "utf8").replace(/name: hello-two }\nspec:\n {2}replicas: 2/, "name: hello-two }\nspec:\n  replicas: 3");
    const file = join(stateDir, "scaled.yaml");
    writeFileSync(file, scaled);
    await new Promise((r) => setTimeout(r, 500));
    k.must("apply", "-f", file);
    await new Promise((r) => setTimeout(r, 800));
    writeFileSync(file, scaled.replace("replicas: 3", "replicas: 2"));
    k.must("apply", "-f", file);
    await finished;
    const all = codes.trim().split("\n");
    expect(all).toHaveLength(150);
    expect(all.filter((c) => c !== "200")).toEqual([]);
    const log = readFileSync(join(stateDir, ...(spawnSync("sh", ["-c", `cd ${stateDir} && ls node*/pods/ingress-nginx_*.log`], { encoding: "utf8" }).stdout.trim().split("\n")[0] ?? "").split("/")), "utf8");
    expect(log.match(/nginx reloaded/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
    // No endpoints behind a path: 503, as ingress-nginx answers.
    writeFileSync(file, scaled.replace("replicas: 3", "replicas: 0"));
    k.must("apply", "-f", file);
    await within(5_000, "hello-two has no endpoints: 503", () => fromWan("http://hello.weft.test/two", lb).startsWith("503"));
    expect(fromWan("http://hello.weft.test/one", lb)).toMatch(/^hello-one-/);
  }, 60_000);

  it("takes a deleted backend out of rotation before stopping it: out of the Endpoints at once, serving through its preStop sleep", async () => {
    const file = join(stateDir, "scaled.yaml");
    const withReplicas = (n: number): string => readFileSync(join(INGRESS, "10-backends.yaml"), "utf8").replace(/name: hello-two }\nspec:\n {2}replicas: 2/, `name: hello-two }\nspec:\n  replicas: ${n}`);
    writeFileSync(file, withReplicas(1));
    k.must("apply", "-f", file);
    // Read straight from the API server and curl'd from the node's namespace: under load a CLI start
    // per poll would eat the 5 s preStop window this test observes.
    await within(10_000, "hello-two has one endpoint", async () => (await readyEndpoints(stateDir, "hello-two")).length === 1);
    const [ip] = await readyEndpoints(stateDir, "hello-two");
    const node1 = status().nodes[0]!.netns;
    const answers = (): string => spawnSync("ip", ["netns", "exec", node1, "curl", "-s", "-m", "1", "-o", "/dev/null", "-w", "%{http_code}", `http://${ip}:8080/`], { encoding: "utf8" }).stdout;
    expect(answers()).toBe("200");
    writeFileSync(file, withReplicas(0));
    const applied = Date.now();
    const deleting = labInBackground("apply", "-f", file);
    // The preStop sleep starts when the deletion reaches the kubelet, not when the CLI starts: the
    // clock for "at once" starts when the API shows the pod terminating.
    const terminating = async (): Promise<boolean> => {
      const pods = (await labClient(stateDir).list(PODS, { namespace: "default", labelSelector: "app=hello-two" })).items;
      return pods.length === 1 && pods[0]!.metadata?.deletionTimestamp !== undefined;
    };
    await within(20_000, "the pod is terminating", terminating);
    const deleted = Date.now();
    await within(2_000, "the terminating pod leaves the ready Endpoints", async () => (await readyEndpoints(stateDir, "hello-two")).length === 0);
    expect(answers()).toBe("200"); // still serving, in its 5 s preStop sleep
    expect(Date.now() - deleted).toBeLessThan(5_000);
    expect(await deleting).toBe(0);
    expect(Date.now() - applied).toBeGreaterThanOrEqual(5_000);
    expect(answers()).not.toBe("200"); // stopped once the sleep was over
  }, 60_000);
});
