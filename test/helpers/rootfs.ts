// A minimal container root filesystem for runtime tests: busybox-static with relative applet links.
import { copyFileSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";

export function busyboxRootfs(dir: string): string {
  for (const d of ["bin", "proc", "sys", "dev", "etc", "tmp", "run"]) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync("/bin/busybox", join(dir, "bin", "busybox"));
  for (const applet of ["sh", "ip", "ping", "sleep", "cat", "hostname", "nc", "wget", "ls"]) symlinkSync("busybox", join(dir, "bin", applet));
  return dir;
}
