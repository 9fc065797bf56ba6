// GC (CNI 1.1): release every IP, delete every weft host veth and remove every anti-spoofing entry
// that belongs to no valid attachment. No list from the runtime means none is valid (libcni's meaning).
import { PodIpStore, recordedPods, type PodAllocation } from "../ipam/pod-ip-store.js";
import { NotFoundError, openHandle } from "../netlink/index.js";
import type { WeftConfig } from "./config.js";
import type { PluginLog } from "./log.js";
import { HOST_VETH_PREFIX, hostVethName, podFilterEntries } from "../ipam/attachment.js";
import { nodeMayFilter, unlistPods } from "./pod-filter.js";

export function cmdGc(conf: WeftConfig, log: PluginLog): void {
  const valid = conf.validAttachments;
  const [released, released6] = ([4, 6] as const).map((family) => {
    const store = new PodIpStore({ dataDir: conf.dataDir, network: conf.name, family });
    return store.exists() ? store.gc(valid) : [];
  }) as [PodAllocation[], PodAllocation[]];
  const keep = new Set(valid.map((a) => hostVethName(a.containerId, a.ifname)));
  const entries = (released.length || released6.length) && nodeMayFilter(conf.subnetFile) ? recordedPods(released, released6).flatMap((r) => podFilterEntries(r)) : [];
  const deleted = unlistPods(entries, () => deleteStaleVeths(conf.bridge, keep));
  log.info("gc", { released: [...released, ...released6].map((r) => ({ ip: r.ip, containerId: r.containerId, ifname: r.ifname })), deletedVeths: deleted, validAttachments: valid.length });
}

/** Deletes every weft host veth on `bridge` whose name is not in `keep`; returns their names. */
function deleteStaleVeths(bridgeName: string, keep: ReadonlySet<string>): string[] {
  const host = openHandle();
  const deleted: string[] = [];
  try {
    const bridge = host.linkFind(bridgeName);
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
  return deleted;
}
