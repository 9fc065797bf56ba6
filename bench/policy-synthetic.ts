// The synthetic cluster of bench/policy.mjs (bundled into its worker): namespaces × pods with labels
// and named container ports, and NetworkPolicies with pod and namespace selectors, numeric and named
// ports, every third also limiting egress.
import type { Namespace, NetworkPolicy, Pod } from "../daemon/kube-watches.js";

export interface Synthetic {
  namespaces: Namespace[];
  pods: Pod[];
  policies: NetworkPolicy[];
}

export const APPS = ["web", "api", "db", "cache", "worker"];
export const ROLES = ["frontend", "backend", "batch", "monitor"];

/** Pod i's address: 10.244.0.0/16, 250 per /24. */
const podIp = (i: number): string => `10.244.${Math.floor(i / 250)}.${(i % 250) + 2}`;

export function synthetic(nsCount: number, podsPerNs: number, policyCount: number, node: (i: number) => string, withStatus = true): Synthetic {
  const namespaces: Namespace[] = Array.from({ length: nsCount }, (_, n) => ({ metadata: { name: `bench-ns-${n}`, labels: { team: `t${n % 10}`, env: n % 3 === 0 ? "prod" : "dev" } } }) as Namespace);
  const pods: Pod[] = [];
  for (let n = 0; n < nsCount; n++)
    for (let j = 0; j < podsPerNs; j++) {
      const i = n * podsPerNs + j;
      pods.push({
        metadata: { name: `pod-${j}`, namespace: `bench-ns-${n}`, labels: { app: APPS[j % APPS.length]!, role: ROLES[(j + n) % ROLES.length]!, shard: `s${j % 7}` } },
        spec: { nodeName: node(i), containers: [{ name: "c", image: "agnhost", ports: [{ containerPort: 8080, name: "http" }, { containerPort: 9090, name: "metrics" }] }] },
        ...(withStatus ? { status: { phase: "Running", podIP: podIp(i), podIPs: [{ ip: podIp(i) }] } } : {}),
      } as unknown as Pod);
    }
  // Each policy: its namespace's pods of one app; ingress from a role in the same namespace OR a team's
  // namespaces' pods of another app, on a numeric and a named port; every third also limits egress.
  const policies: NetworkPolicy[] = Array.from({ length: policyCount }, (_, k) => {
    const n = k % nsCount;
    const spec: Record<string, unknown> = {
      podSelector: { matchLabels: { app: APPS[k % APPS.length]! } },
      policyTypes: k % 3 === 0 ? ["Ingress", "Egress"] : ["Ingress"],
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { role: ROLES[k % ROLES.length]! } } },
            { namespaceSelector: { matchLabels: { team: `t${(k * 7) % 10}` } }, podSelector: { matchExpressions: [{ key: "shard", operator: "In", values: [`s${k % 7}`, `s${(k + 3) % 7}`] }] } },
          ],
          ports: [{ protocol: "TCP", port: 8000 + (k % 50) }, { port: "http" }],
        },
      ],
      ...(k % 3 === 0 ? { egress: [{ to: [{ namespaceSelector: { matchLabels: { env: "prod" } } }], ports: [{ protocol: "TCP", port: 5432 }] }] } : {}),
    };
    return { metadata: { name: `np-${String(k).padStart(4, "0")}`, namespace: `bench-ns-${n}` }, spec } as unknown as NetworkPolicy;
  });
  return { namespaces, pods, policies };
}
