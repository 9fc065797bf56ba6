// WireGuard devices where the kernel has no WireGuard: wireguard-go, a userspace implementation that
// makes a TUN device of the given name in the network namespace it starts in and serves its UAPI
// socket in /var/run/wireguard. weftd starts it detached, so it outlives a weftd restart (the device
// and its peers stay, as the kernel's would), and finds it again by its socket.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { NotFoundError, type NetlinkHandle } from "../../../netlink/index.js";
import { BackendError } from "../backend.js";
import { UAPI_DIR, UapiWireguard, uapiSocketPath } from "./uapi-client.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const START_TIMEOUT_MS = 5_000;

export interface UserspaceOptions {
  /** The wireguard-go executable (a name on PATH, or a path). */
  binary: string;
  /** Where wireguard-go's own log goes, one file per device. */
  logDir: string;
  uapiDir?: string;
}

export class UserspaceDevices {
  readonly control: UapiWireguard;

  constructor(
    private readonly h: NetlinkHandle,
    private readonly opts: UserspaceOptions,
  ) {
    this.control = new UapiWireguard(opts.uapiDir ?? UAPI_DIR);
  }

  private async answers(name: string): Promise<boolean> {
    try {
      await this.control.getDevice(name);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  /** Makes sure `name` runs in this namespace; true when it was started now (it has no peers yet). */
  async ensure(name: string): Promise<boolean> {
    const socket = uapiSocketPath(name, this.opts.uapiDir);
    const link = this.h.linkFind(name);
    const served = await this.answers(name);
    if (link && served) return false;
    if (link && !served) throw new BackendError(`WireGuard device ${name} exists but no userspace WireGuard serves ${socket} (is it another kind of device? the kernel's? remove it, or choose another --wireguard-device)`);
    // A socket answering for a device that is not in this namespace is another namespace's: the
    // socket directory is shared by every namespace of the mount namespace.
    if (served) throw new BackendError(`${socket} is served by a WireGuard device ${name} in another network namespace: give this node's device another name (--wireguard-device), or run it in its own mount namespace`);
    if (existsSync(socket)) rmSync(socket, { force: true }); // left by a wireguard-go that died
    await this.start(name);
    return true;
  }

  private async start(name: string): Promise<void> {
    mkdirSync(this.opts.logDir, { recursive: true });
    const logFile = `${this.opts.logDir}/wireguard-go-${name}.log`;
    const out = openSync(logFile, "a");
    const child = spawn(this.opts.binary, ["-f", name], {
      detached: true,
      stdio: ["ignore", out, out],
      // wireguard-go on Linux refuses to start without this, pointing at the kernel module first.
      env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", LOG_LEVEL: "error", WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1" },
    });
    closeSync(out);
    // Its pid, for whoever must stop it (a node's teardown): wireguard-go runs on after weftd stops.
    if (child.pid) writeFileSync(`${this.opts.logDir}/wireguard-go-${name}.pid`, `${child.pid}\n`);
    let failed: Error | undefined;
    child.on("error", (err: NodeJS.ErrnoException) => {
      failed = err.code === "ENOENT" ? new BackendError(`no WireGuard of either kind: the kernel has no wireguard module and ${this.opts.binary} (wireguard-go) is not installed; load the module (modprobe wireguard) or install wireguard-go`) : err;
    });
    let exited: number | null | undefined;
    child.on("exit", (code) => (exited = code));
    child.unref();
    for (const deadline = Date.now() + START_TIMEOUT_MS; Date.now() < deadline; ) {
      if (failed) throw failed;
      if (exited !== undefined) throw new BackendError(`wireguard-go for ${name} exited with code ${exited} at start; its log: ${logFile}`);
      if (this.h.linkFind(name) && (await this.answers(name))) return;
      await sleep(20);
    }
    throw new BackendError(`wireguard-go for ${name} did not serve ${uapiSocketPath(name, this.opts.uapiDir)} within ${START_TIMEOUT_MS} ms; its log: ${logFile}`);
  }
}
