// DEL: release the IP and remove the veth pair (deleting the host side removes both ends).
// Idempotent: a missing namespace, veth or container is success.
import { PodIpStore } from "../ipam/pod-ip-store.js";
import { NotFoundError, openHandle } from "../netlink/index.js";
import type { WeftConfig } from "./config.js";
import type { CniEnv } from "./env.js";
import type { PluginLog } from "./log.js";
import { hostVethName } from "./naming.js";

export function cmdDel(conf: WeftConfig, env: CniEnv, log: PluginLog): void {
  const vethName = hostVethName(env.containerId, env.ifname);
  const host = openHandle();
  try {
    host.linkDelete(vethName);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  } finally {
    host.close();
  }
  const released = new PodIpStore({ dataDir: conf.dataDir, network: conf.name }).release({ containerId: env.containerId, ifname: env.ifname });
  log.info("pod detached", { ip: released?.ip ?? null, hostVeth: vethName });
}
