// DEL: remove the pod's anti-spoofing entry, the veth pair (deleting the host side removes both ends),
// and release the IP, in that order, so that a DEL interrupted anywhere is finished by the next one.
// Idempotent: a missing namespace, veth, entry or container is success.
//
// The entry goes first, and its netfilter socket is closed after the veth's deletion (see unlistPods):
// the kernel's two waits for an RCU grace period then overlap instead of adding up. Before the entry
// goes, the host end is set down: a down port takes no frame from its peer, so what the pod still sends
// in the moment between the entry's removal and the veth's stops there, not at the filter, which would
// count the pod's own traffic as spoofed (and weftd warn of it).
import { PodIpStore, type PodAttachment } from "../ipam/pod-ip-store.js";
import { NotFoundError, openHandle } from "../netlink/index.js";
import type { WeftConfig } from "./config.js";
import type { CniEnv } from "./env.js";
import type { PluginLog } from "./log.js";
import { hostVethName, podFilterEntries, type PodFilterEntry } from "../ipam/attachment.js";
import { nodeMayFilter, unlistPods } from "./pod-filter.js";

/** The pod's anti-spoofing entries, from the addresses its records hold; none when it holds none. */
function filterEntriesOf(stores: PodIpStore[], attachment: PodAttachment): PodFilterEntry[] {
  const [held, held6] = stores.map((store) => (store.exists() ? store.find(attachment) : undefined));
  if (!held && !held6) return [];
  return podFilterEntries({ ...attachment, ...(held ? { ipv4: held.ip } : {}), ...(held6 ? { ipv6: held6.ip } : {}) });
}

/** Runs `fn`; a link already gone is fine (DEL is idempotent). */
function ignoreNotFound(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

export function cmdDel(conf: WeftConfig, env: CniEnv, log: PluginLog): void {
  const vethName = hostVethName(env.containerId, env.ifname);
  // Both families' stores, whatever subnet.env says now (the node may have gained or lost a family since).
  const store = new PodIpStore({ dataDir: conf.dataDir, network: conf.name });
  const store6 = new PodIpStore({ dataDir: conf.dataDir, network: conf.name, family: 6 });
  const attachment = { containerId: env.containerId, ifname: env.ifname };
  // subnet.env first: on a node without the filter the records are read once, when released.
  const entries = nodeMayFilter(conf.subnetFile) ? filterEntriesOf([store, store6], attachment) : [];
  log.mark("records");
  const host = openHandle();
  log.mark("netlink");
  try {
    if (entries.length) ignoreNotFound(() => host.linkSetDown(vethName));
    unlistPods(entries, () => {
      ignoreNotFound(() => host.linkDelete(vethName));
      log.mark("veth");
    });
  } finally {
    host.close();
  }
  log.mark("filter");
  const released = store.exists() ? store.release(attachment) : undefined;
  const released6 = store6.exists() ? store6.release(attachment) : undefined;
  log.mark("ip");
  log.info("pod detached", { ip: released?.ip ?? released6?.ip ?? null, ...(released && released6 ? { ipv6: released6.ip } : {}), hostVeth: vethName });
}
