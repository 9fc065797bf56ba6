// Runs a conflist as a container runtime does (libcni): ADD through every plugin in order, each given
// the previous result; DEL in reverse. The environment is minimal, as a runtime's is.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

export interface Conflist {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

export interface Attachment {
  containerId: string;
  netns: string;
  ifname: string;
  args?: string;
  portMappings?: { hostPort: number; containerPort: number; protocol: string }[];
}

export class CniRuntimeError extends Error {}

function execPlugin(nodeNetns: string, cniPath: string, command: string, plugin: Record<string, unknown>, att: Attachment, cacheDir: string): string {
  const type = String(plugin.type);
  const bin = cniPath.split(":").map((d) => `${d}/${type}`).find((p) => spawnSync("test", ["-x", p]).status === 0);
  if (!bin) throw new CniRuntimeError(`plugin ${type} not found in ${cniPath}`);
  const res = spawnSync("nsenter", [`--net=/var/run/netns/${nodeNetns}`, bin], {
    input: JSON.stringify(plugin),
    encoding: "utf8",
    env: {
      PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
      CNI_COMMAND: command,
      CNI_CONTAINERID: att.containerId,
      CNI_NETNS: att.netns,
      CNI_IFNAME: att.ifname,
      CNI_PATH: cniPath,
      CNI_ARGS: att.args ?? "",
      WEFT_CACHE_DIR: cacheDir,
    },
  });
  if (res.status !== 0) throw new CniRuntimeError(`${type} ${command} failed: ${res.stdout.trim() || res.stderr.trim()}`);
  return res.stdout;
}

function pluginConfig(list: Conflist, plugin: Record<string, unknown>, att: Attachment, prevResult?: unknown): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
  delete conf.capabilities;
  if (caps.portMappings && att.portMappings) conf.runtimeConfig = { portMappings: att.portMappings };
  if (prevResult) conf.prevResult = prevResult;
  return conf;
}

export function readConflist(path: string): Conflist {
  return JSON.parse(readFileSync(path, "utf8")) as Conflist;
}

export function cniAdd(list: Conflist, nodeNetns: string, cniPath: string, att: Attachment, cacheDir: string): Record<string, unknown> {
  let prev: Record<string, unknown> | undefined;
  for (const plugin of list.plugins) {
    const out = execPlugin(nodeNetns, cniPath, "ADD", pluginConfig(list, plugin, att, prev), att, cacheDir);
    prev = JSON.parse(out) as Record<string, unknown>;
  }
  return prev ?? {};
}

export function cniDel(list: Conflist, nodeNetns: string, cniPath: string, att: Attachment, cacheDir: string, prevResult?: unknown): void {
  for (const plugin of [...list.plugins].reverse()) execPlugin(nodeNetns, cniPath, "DEL", pluginConfig(list, plugin, att, prevResult), att, cacheDir);
}
