import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseDaemonArgs } from "./config.js";
import { chooseKubeApi } from "./kube-api-choice.js";

describe("which Kubernetes API weftd watches", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-sa-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };

  it("takes --kubeconfig first, then the pod's service account, else none; --kube-api off means none", () => {
    const none = parseDaemonArgs([], "t");
    expect(none.kubeApi).toBe("auto");
    expect(chooseKubeApi(none, { dir, env })).toEqual({ kind: "none", why: "no --kubeconfig, and not in a pod with a service account token" });
    writeFileSync(join(dir, "token"), "t");
    expect(chooseKubeApi(none, { dir, env })).toEqual({ kind: "in-cluster" });
    expect(chooseKubeApi(none, { dir, env: {} }).kind).toBe("none");
    expect(chooseKubeApi(parseDaemonArgs(["--kubeconfig", "/k"], "t"), { dir, env })).toEqual({ kind: "kubeconfig", file: "/k" });
    expect(chooseKubeApi(parseDaemonArgs(["--kube-api", "off"], "t"), { dir, env })).toEqual({ kind: "none", why: "--kube-api off" });
  });

  it("refuses a kubeconfig with the API off", () => {
    expect(() => parseDaemonArgs(["--kubeconfig", "/k", "--kube-api", "off"], "t")).toThrow(/--kubeconfig \/k and --kube-api off contradict/);
  });
});
