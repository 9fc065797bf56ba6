// The agnhost subcommands the upstream NetworkPolicy suite runs (registry.k8s.io/e2e-test-images/agnhost),
// parsed from a container's command, args and env as agnhost's own flags read them. Pure: what to serve
// or what to probe, no sockets.

export type AgnhostProtocol = "tcp" | "udp" | "sctp";

/** `serve-hostname --tcp|--udp [--http=false] --port N`: answers its pod's name. */
export interface ServeHostname {
  kind: "serve-hostname";
  protocol: "tcp" | "udp";
  port: number;
}

/** One server of `porter`: SERVE_PORT_N (TCP), SERVE_SCTP_PORT_N, SERVE_TLS_PORT_N, answering the variable's value. */
export interface PorterServer {
  protocol: "tcp" | "sctp" | "tls";
  port: number;
  value: string;
}

export interface Porter {
  kind: "porter";
  servers: PorterServer[];
}

/** `connect HOST:PORT --protocol tcp|udp|sctp --timeout 1s`: exits 0 when connected (answered), 1 otherwise. */
export interface Connect {
  kind: "connect";
  host: string;
  port: number;
  protocol: AgnhostProtocol;
  timeoutMs: number;
}

export type AgnhostCommand = ServeHostname | Porter | Connect;

export class AgnhostArgsError extends Error {
  constructor(
    message: string,
    readonly argv: string[],
  ) {
    super(`agnhost ${argv.join(" ")}: ${message}`);
  }
}

/** Go flag syntax: `--name value`, `--name=value`, `-name`; booleans take only the `=` form. */
function readFlags(argv: string[], booleans: Set<string>): { flags: Map<string, string>; positional: string[] } {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(arg);
    if (!m || arg === "-" || arg === "--") {
      positional.push(arg);
      continue;
    }
    const name = m[1] ?? "";
    if (m[2] !== undefined) flags.set(name, m[2]);
    else if (booleans.has(name)) flags.set(name, "true");
    else flags.set(name, argv[++i] ?? "");
  }
  return { flags, positional };
}

/** Go's time.ParseDuration for the forms agnhost is given: "1s", "500ms", "1.5s", "2m". */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration (e.g. 1s, 500ms)`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : n * 60_000;
}

const truthy = (v: string | undefined): boolean => v !== undefined && v !== "false" && v !== "0";

function port(text: string | undefined, argv: string[]): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new AgnhostArgsError(`"${text ?? ""}" is not a port`, argv);
  return n;
}

function serveHostname(argv: string[]): ServeHostname {
  const { flags } = readFlags(argv, new Set(["tcp", "udp", "http", "close"]));
  const tcp = truthy(flags.get("tcp"));
  const udp = truthy(flags.get("udp"));
  if (tcp === udp) throw new AgnhostArgsError("give exactly one of --tcp and --udp (the lab serves --http=false only)", argv);
  if (truthy(flags.get("http") ?? "true")) throw new AgnhostArgsError("--http serving is not modelled: pass --http=false", argv);
  return { kind: "serve-hostname", protocol: tcp ? "tcp" : "udp", port: port(flags.get("port") ?? "9376", argv) };
}

function porter(argv: string[], env: Record<string, string>): Porter {
  const servers: PorterServer[] = [];
  for (const [name, value] of Object.entries(env)) {
    const m = /^SERVE_(SCTP_|TLS_)?PORT_(\d+)$/.exec(name);
    if (!m) continue;
    const protocol = m[1] === "SCTP_" ? "sctp" : m[1] === "TLS_" ? "tls" : "tcp";
    servers.push({ protocol, port: port(m[2], argv), value });
  }
  if (!servers.length) throw new AgnhostArgsError("porter needs SERVE_PORT_N, SERVE_SCTP_PORT_N or SERVE_TLS_PORT_N in its env", argv);
  return { kind: "porter", servers: servers.sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol)) };
}

/** HOST:PORT with IPv6 in brackets ([fd00::1]:80), as Go's net.SplitHostPort takes it. */
export function splitHostPort(text: string, argv: string[] = [text]): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!m) throw new AgnhostArgsError(`"${text}" is not HOST:PORT`, argv);
  return { host: m[1] ?? "", port: port(m[2], argv) };
}

function connect(argv: string[]): Connect {
  const { flags, positional } = readFlags(argv, new Set());
  const target = positional[0];
  if (!target) throw new AgnhostArgsError("connect needs HOST:PORT", argv);
  const protocol = flags.get("protocol") ?? "tcp";
  if (protocol !== "tcp" && protocol !== "udp" && protocol !== "sctp") throw new AgnhostArgsError(`--protocol "${protocol}": tcp, udp or sctp`, argv);
  let timeoutMs: number;
  try {
    timeoutMs = flags.has("timeout") ? parseDuration(flags.get("timeout") ?? "") : 0;
  } catch (err) {
    throw new AgnhostArgsError((err as Error).message, argv);
  }
  return { kind: "connect", ...splitHostPort(target, argv), protocol, timeoutMs };
}

/**
 * The subcommand a container runs: its command then its args, as a runtime joins them; a leading
 * "/agnhost" (the upstream model's command) is the binary itself. Undefined when it names none of them.
 */
export function parseAgnhost(command: string[] = [], args: string[] = [], env: Record<string, string> = {}): AgnhostCommand | undefined {
  const argv = [...command, ...args];
  if (/(^|\/)agnhost$/.test(argv[0] ?? "")) argv.shift();
  const [sub, ...rest] = argv;
  switch (sub) {
    case "serve-hostname":
      return serveHostname(rest);
    case "porter":
      return porter(rest, env);
    case "connect":
      return connect(rest);
    default:
      return undefined;
  }
}

/** A container's env list as a map (values only; valueFrom is not modelled). */
export const envMap = (env: { name: string; value?: string }[] = []): Record<string, string> => Object.fromEntries(env.map((e) => [e.name, e.value ?? ""]));
