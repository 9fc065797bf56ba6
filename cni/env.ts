// The CNI_* environment: read once, validated, so a bad value fails with code 4 naming the variable.
import { CNI_ERROR, CniError } from "./errors.js";

export interface CniEnv {
  command: string;
  containerId: string;
  netns: string;
  ifname: string;
  args: Map<string, string>;
  path: string;
}

const COMMANDS = new Set(["ADD", "DEL", "CHECK", "GC", "STATUS", "VERSION"]);
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const KNOWN_ARGS = new Set(["IgnoreUnknown", "K8S_POD_NAME", "K8S_POD_NAMESPACE", "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID"]);
/** Which variables each verb needs (CNI spec 1.1, "Parameters"). */
const NEEDS: Record<string, string[]> = {
  ADD: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  CHECK: ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME"],
  DEL: ["CNI_CONTAINERID", "CNI_IFNAME"],
};

const invalid = (msg: string): CniError => new CniError(CNI_ERROR.INVALID_ENV, msg);

export function validateIfname(ifname: string): void {
  if (!ifname || Buffer.byteLength(ifname) > 15 || /[/:\s\0]/.test(ifname) || ifname === "." || ifname === "..")
    throw invalid(`CNI_IFNAME "${ifname}" is not a valid interface name (1-15 bytes, no "/", ":" or white space)`);
}

export function parseCniArgs(text: string): Map<string, string> {
  const args = new Map<string, string>();
  for (const pair of text.split(";")) {
    if (!pair) continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) throw invalid(`CNI_ARGS entry "${pair}" is not KEY=VALUE`);
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const ignoreUnknown = ["1", "true"].includes((args.get("IgnoreUnknown") ?? "").toLowerCase());
  for (const key of args.keys()) {
    if (!KNOWN_ARGS.has(key) && !ignoreUnknown) throw invalid(`CNI_ARGS key "${key}" is unknown to weft (set IgnoreUnknown=1 to pass it anyway)`);
  }
  return args;
}

export function readCniEnv(env: NodeJS.ProcessEnv): CniEnv {
  const command = env.CNI_COMMAND ?? "";
  if (!COMMANDS.has(command)) throw invalid(command ? `CNI_COMMAND "${command}" is not one of ${[...COMMANDS].join(", ")}` : "CNI_COMMAND is not set");
  for (const name of NEEDS[command] ?? []) if (!env[name]) throw invalid(`${name} is required for ${command}`);
  const containerId = env.CNI_CONTAINERID ?? "";
  if (containerId && (containerId.length > 1024 || !CONTAINER_ID.test(containerId)))
    throw invalid(`CNI_CONTAINERID "${containerId.slice(0, 80)}" must match ${CONTAINER_ID}`);
  const ifname = env.CNI_IFNAME ?? "";
  if (NEEDS[command]) validateIfname(ifname);
  const netns = env.CNI_NETNS ?? "";
  // Only the verbs that use it check it: libcni validates a conflist by sending VERSION with
  // CNI_NETNS=dummy (podman does this for every network it loads).
  if (NEEDS[command] && netns && (!netns.startsWith("/") || netns.includes("\0"))) throw invalid(`CNI_NETNS "${netns}" must be an absolute path`);
  return { command, containerId, netns, ifname, args: parseCniArgs(env.CNI_ARGS ?? ""), path: env.CNI_PATH ?? "" };
}
