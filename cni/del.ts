// DEL: remove the veth pair (deleting the host side removes both ends), the pod's anti-spoofing
// entry, and release the IP, in that order, so that a DEL interrupted anywhere is finished by the
// next one. Idempotent: a missing namespace, veth or container is success.
import { PodIpStore } from "../ipam/pod-ip-store.js";
import { NotFoundError, openHandle } from "../netlink/index.js";
import type { WeftConfig } from "./config.js";
import type { CniEnv } from "./env.js";
import type { PluginLog } from "./log.js";
import { hostVethName, podFilterEntry } from "../ipam/attachment.js";
import { nodeMayFilter, unlistPod } from "./pod-filter.js";

export function cmdDel(conf: WeftConfig, env: CniEnv, log: PluginLog): void {
  const vethName = hostVethName(env.containerId, env.ifname);
  const host = openHandle();
  log.mark("netlink");
  try {
    host.linkDelete(vethName);
    log.mark("veth");
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  } finally {
    host.close();
  }
  const store = new PodIpStore({ dataDir: conf.dataDir, network: conf.name });
  const attachment = { containerId: env.containerId, ifname: env.ifname };
  const held = store.find(attachment);
  if (held && nodeMayFilter(conf.subnetFile)) unlistPod(podFilterEntry({ ...attachment, ip: held.ip }));
  log.mark("filter");
  const released = store.release(attachment);
  log.mark("ip");
  log.info("pod detached", { ip: released?.ip ?? null, hostVeth: vethName });
}
