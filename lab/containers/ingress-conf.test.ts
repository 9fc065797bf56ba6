import { describe, expect, it } from "vitest";
import type { EndpointSlice, Service } from "../../proxy/model.js";
import { renderNginxConf, servedIngresses } from "./ingress-conf.js";
import type { Ingress, IngressClass } from "../apiserver/ingress-model.js";

const nginxClass: IngressClass = { kind: "IngressClass", metadata: { name: "nginx" }, spec: { controller: "k8s.io/ingress-nginx" } };
const svc = (name: string, port: number, portName: string): Service => ({ apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec: { selector: { app: name }, ports: [{ name: portName, port, targetPort: 8080, protocol: "TCP" }] } });
const slice = (name: string, portName: string, ips: string[]): EndpointSlice => ({ metadata: { name: `${name}-x`, namespace: "default", labels: { "kubernetes.io/service-name": name } }, addressType: "IPv4", ports: [{ name: portName, port: 8080 }], endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })) });
const path = (p: string, pathType: string, service: string, port: number) => ({ path: p, pathType, backend: { service: { name: service, port: { number: port } } } });
const ingress = (name: string, spec: Ingress["spec"], annotations?: Record<string, string>): Ingress => ({ kind: "Ingress", metadata: { name, namespace: "default", ...(annotations ? { annotations } : {}) }, spec });

const render = (ingresses: Ingress[], tls = false): string =>
  renderNginxConf({ ingresses, classes: [nginxClass], services: [svc("a", 80, "http"), svc("b", 80, "http"), svc("empty", 80, "http")], endpointSlices: [slice("a", "http", ["10.244.1.2", "10.244.2.2"]), slice("b", "http", ["10.244.1.3"])], tlsFiles: () => (tls ? { cert: "/t/c.crt", key: "/t/c.key" } : undefined), prefix: "/p" });

describe("nginx configuration from Ingress objects", () => {
  it("serves only Ingresses of its class, or without a class when its class is the default", () => {
    const mine = ingress("mine", { ingressClassName: "nginx", defaultBackend: { service: { name: "a", port: { number: 80 } } } });
    const other = ingress("other", { ingressClassName: "traefik", defaultBackend: { service: { name: "a", port: { number: 80 } } } });
    const none = ingress("none", { defaultBackend: { service: { name: "a", port: { number: 80 } } } });
    expect(servedIngresses([mine, other, none], [nginxClass]).map((i) => i.metadata.name)).toEqual(["mine"]);
    const asDefault = { ...nginxClass, metadata: { name: "nginx", annotations: { "ingressclass.kubernetes.io/is-default-class": "true" } } };
    expect(servedIngresses([mine, other, none], [asDefault]).map((i) => i.metadata.name)).toEqual(["mine", "none"]);
  });

  it("matches Prefix by whole path elements, gives Exact precedence, and sends the rest to the default backend (or a 404)", () => {
    const conf = render([ingress("x", { ingressClassName: "nginx", rules: [{ host: "h.test", http: { paths: [path("/foo", "Prefix", "a", 80), path("/foo", "Exact", "b", 80)] } }] })]);
    expect(conf).toContain("upstream default-a-80 {\n    server 10.244.1.2:8080;\n    server 10.244.2.2:8080;\n    keepalive 16;\n  }");
    const server = conf.slice(conf.indexOf("server_name h.test;"));
    expect(server).toContain("location = /foo {\n      proxy_pass http://default-b-80;");
    expect(server.match(/location = \/foo \{/g)).toHaveLength(1);
    expect(server).toContain("location /foo/ {\n      proxy_pass http://default-a-80;");
    expect(server).toContain("location / {\n      return 404;");
    expect(conf).not.toMatch(/location \/foo \{/); // a bare prefix would also match /foobar
  });

  it("answers 503 for a backend without endpoints, uses grpc_pass for GRPC backends, and TLS on 443 for hosts with a Secret", () => {
    const conf = render(
      [
        ingress("e", { ingressClassName: "nginx", rules: [{ host: "e.test", http: { paths: [path("/", "Prefix", "empty", 80)] } }] }),
        ingress("g", { ingressClassName: "nginx", tls: [{ hosts: ["g.test"], secretName: "s" }], rules: [{ host: "g.test", http: { paths: [path("/", "Prefix", "a", 80)] } }] }, { "nginx.ingress.kubernetes.io/backend-protocol": "GRPC" }),
      ],
      true,
    );
    expect(conf.slice(conf.indexOf("server_name e.test;"))).toMatch(/^server_name e\.test;\n {4}location \/ \{\n {6}return 503;/);
    const g = conf.slice(conf.indexOf("server_name g.test;"));
    expect(g).toContain("listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n    ssl_certificate /t/c.crt;\n    ssl_certificate_key /t/c.key;");
    expect(g).toContain("grpc_pass grpc://default-a-80;");
    expect(conf).toContain("listen 443 ssl http2 default_server;\n    listen [::]:443 ssl http2 default_server;\n    ssl_reject_handshake on;");
  });
});
