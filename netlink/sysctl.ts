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

export function readSysctl(netnsPath: string | undefined, key: string): string {
  const read = (): string => readFileSync(sysctlPath(key), "utf8").trim();
  return netnsPath ? inNetns(netnsPath, read) : read();
}
