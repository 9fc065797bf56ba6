import { describe, expect, it } from "vitest";
import { AgnhostArgsError, envMap, parseAgnhost, parseDuration, splitHostPort } from "./agnhost-args.js";

describe("agnhost arguments", () => {
  it("reads serve-hostname as the upstream model's containers give it, with or without /agnhost in front", () => {
    expect(parseAgnhost(["/agnhost", "serve-hostname", "--tcp", "--http=false", "--port", "80"])).toEqual({ kind: "serve-hostname", protocol: "tcp", port: 80 });
    expect(parseAgnhost([], ["serve-hostname", "--udp", "--http=false", "--port=81"])).toEqual({ kind: "serve-hostname", protocol: "udp", port: 81 });
    expect(parseAgnhost(["agnhost"], ["serve-hostname", "-udp", "-http=false", "-port", "9000"])).toEqual({ kind: "serve-hostname", protocol: "udp", port: 9000 });
  });

  it("refuses serve-hostname without exactly one protocol, with HTTP serving, or with a bad port", () => {
    expect(() => parseAgnhost([], ["serve-hostname", "--http=false", "--port", "80"])).toThrow(AgnhostArgsError);
    expect(() => parseAgnhost([], ["serve-hostname", "--tcp", "--udp", "--http=false"])).toThrow(/exactly one/);
    expect(() => parseAgnhost([], ["serve-hostname", "--tcp", "--port", "80"])).toThrow(/--http=false/);
    expect(() => parseAgnhost([], ["serve-hostname", "--tcp", "--http=false", "--port", "70000"])).toThrow(/not a port/);
  });

  it("reads porter's servers from its env: TCP, SCTP and TLS ports with their answers, other variables ignored", () => {
    const env = envMap([{ name: "SERVE_SCTP_PORT_80", value: "foo" }, { name: "SERVE_PORT_81", value: "bar" }, { name: "SERVE_TLS_PORT_443", value: "tls" }, { name: "PATH", value: "/bin" }]);
    expect(parseAgnhost(["/agnhost", "porter"], [], env)).toEqual({
      kind: "porter",
      servers: [
        { protocol: "sctp", port: 80, value: "foo" },
        { protocol: "tcp", port: 81, value: "bar" },
        { protocol: "tls", port: 443, value: "tls" },
      ],
    });
    expect(() => parseAgnhost([], ["porter"], { PATH: "/bin" })).toThrow(/SERVE_PORT_N/);
  });

  it("reads connect's target, protocol and timeout as agnhost connect takes them", () => {
    expect(parseAgnhost([], ["connect", "s-x-a.x.svc.cluster.local:80", "--timeout=1s", "--protocol=sctp"])).toEqual({ kind: "connect", host: "s-x-a.x.svc.cluster.local", port: 80, protocol: "sctp", timeoutMs: 1000 });
    expect(parseAgnhost([], ["connect", "[fd00::5]:81", "--protocol", "udp", "--timeout", "500ms"])).toEqual({ kind: "connect", host: "fd00::5", port: 81, protocol: "udp", timeoutMs: 500 });
    expect(parseAgnhost([], ["connect", "10.0.0.1:80"])).toMatchObject({ protocol: "tcp", timeoutMs: 0 });
    expect(() => parseAgnhost([], ["connect", "10.0.0.1:80", "--protocol", "icmp"])).toThrow(/tcp, udp or sctp/);
    expect(() => parseAgnhost([], ["connect", "10.0.0.1", "--protocol", "tcp"])).toThrow(/HOST:PORT/);
    expect(() => parseAgnhost([], ["connect", "10.0.0.1:80", "--timeout", "soon"])).toThrow(/not a duration/);
  });

  it("leaves other commands to the lab's test server", () => {
    expect(parseAgnhost([], ["netexec", "--http-port", "8080"])).toBeUndefined();
    expect(parseAgnhost(["sleep", "3600"])).toBeUndefined();
    expect(parseAgnhost()).toBeUndefined();
  });

  it("parses durations and host:port", () => {
    expect(parseDuration("1.5s")).toBe(1500);
    expect(parseDuration("2m")).toBe(120_000);
    expect(splitHostPort("a.b:53")).toEqual({ host: "a.b", port: 53 });
    expect(() => splitHostPort("fd00::1:80")).toThrow(/HOST:PORT/);
  });
});
