// Per-namespace sysctls. /proc/sys/net shows the namespace of the thread that opens the file,
// so the file is opened and written while switched into the target namespace.
import { readFileSync, writeFileSync } from "node:fs";
import { inNetns } from "./netns.js";

const sysctlPath = (key: string): string => {
  if (!/^[a-zA-Z0-9_.\-/]+$/.test(key) || key.includes("..")) throw new Error(`invalid sysctl key "${key}"`);
  return `/proc/sys/${key.replace(/\./g, "/")}`;
};

export function setSysctl(netnsPath: string | undefined, key: string, value: string): void {
  const write = (): void => writeFileSync(sysctlPath(key), value);
  if (netnsPath) inNetns(netnsPath, write);
  else write();
}

/**
 * An interface's sysctl, net.<family>.conf.<ifname>.<key>. Written as a path, not a dotted key: an
 * interface name may hold dots ("eth0.100"), which the dotted form would read as separators.
 */
export function setLinkSysctl(netnsPath: string | undefined, family: "ipv4" | "ipv6", ifname: string, key: string, value: string): void {
  if (!ifname || Buffer.byteLength(ifname) > 15 || ifname.includes("/") || ifname === "." || ifname === ".." || !/^[a-z_]+$/.test(key)) throw new Error(`invalid interface sysctl ${family} ${ifname} ${key}`);
  const write = (): void => writeFileSync(`/proc/sys/net/${family}/conf/${ifname}/${key}`, value);
  if (netnsPath) inNetns(netnsPath, write);
  else write();
}

export function readSysctl(netnsPath: string | undefined, key: string): string {
  const read = (): string => readFileSync(sysctlPath(key), "utf8").trim();
  return netnsPath ? inNetns(netnsPath, read) : read();
}
