// GC (CNI 1.1): release every IP, delete every weft host veth and remove every anti-spoofing entry
// that belongs to no valid attachment. No list from the runtime means none is valid (libcni's meaning).
import { PodIpStore } from "../ipam/pod-ip-store.js";
import { NotFoundError, openHandle } from "../netlink/index.js";
import type { WeftConfig } from "./config.js";
import type { PluginLog } from "./log.js";
import { HOST_VETH_PREFIX, hostVethName, podFilterEntry } from "../ipam/attachment.js";
import { nodeMayFilter, unlistPod } from "./pod-filter.js";

export function cmdGc(conf: WeftConfig, log: PluginLog): void {
  const valid = conf.validAttachments;
  const released = new PodIpStore({ dataDir: conf.dataDir, network: conf.name }).gc(valid);
  if (released.length && nodeMayFilter(conf.subnetFile)) for (const r of released) unlistPod(podFilterEntry(r));
  const keep = new Set(valid.map((a) => hostVethName(a.containerId, a.ifname)));
  const host = openHandle();
  const deleted: string[] = [];
  try {
    const bridge = host.linkFind(conf.bridge);
    for (const link of host.linkList()) {
      const ours = link.kind === "veth" && link.name.startsWith(HOST_VETH_PREFIX) && bridge !== undefined && link.masterIndex === bridge.index;
      if (!ours || keep.has(link.name)) continue;
      try {
        host.linkDelete(link.index);
        deleted.push(link.name);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
  } finally {
    host.close();
  }
  log.info("gc", { released: released.map((r) => ({ ip: r.ip, containerId: r.containerId, ifname: r.ifname })), deletedVeths: deleted, validAttachments: valid.length });
}
