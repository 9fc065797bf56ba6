// The plugin's IP records on this node, found where the plugin's own configuration says it keeps
// them: weftd reads the conflists the container runtime reads (--cni-conf-dir), so nothing has to
// be told twice. Read again at every listing: a conflist installed or changed after weftd started
// is followed within one resync. --data-dir/--cni-network add one more place, for a plugin
// configured where weftd cannot see it.
import { HOST_VETH_PREFIX } from "../ipam/attachment.js";
import { readPluginNetworks, type PluginNetwork } from "../ipam/plugin-networks.js";
import { PodIpStore, recordedPods, type RecordedPod } from "../ipam/pod-ip-store.js";
import type { NetlinkHandle } from "../netlink/index.js";
import type { Logger } from "./log.js";

export interface PodRecordsOptions {
  confDir: string;
  /** A store named by flags, read beside the conflists' (undefined: the conflists' alone). */
  extra?: { dataDir: string; network: string };
  /** The subnet.env weftd writes: each weft conflist must name the same, or its ADDs fail. */
  subnetFile: string;
}

interface Source {
  dataDir: string;
  network: string;
  /** The conflist that names it, or the flags. */
  from: string;
}

export class PodRecords {
  private seen = "";
  private problemsNow: string[] = [];

  constructor(
    private readonly opts: PodRecordsOptions,
    /** weftd's logger as it is now (it gains the node's fields once the lease is known). */
    private readonly log: () => Logger,
  ) {}

  /** Every pod of every weft network on this node, with its address of each family. Throws when a store cannot be read. */
  list(): RecordedPod[] {
    const sources = this.sources();
    const seen = new Set<string>();
    const all: RecordedPod[] = [];
    for (const s of sources) {
      const [v4, v6] = ([4, 6] as const).map((family) => new PodIpStore({ dataDir: s.dataDir, network: s.network, family })).map((store) => (store.exists() ? store.list() : []));
      for (const a of recordedPods(v4 ?? [], v6 ?? [])) {
        const id = `${a.containerId}:${a.ifname}`;
        if (!seen.has(id)) all.push(a);
        seen.add(id);
      }
    }
    return all;
  }

  /** The stores' directories (each family's), for watching: a record written there is a new pod. */
  storeDirs(): string[] {
    return this.sources().flatMap((s) => ([4, 6] as const).map((family) => new PodIpStore({ dataDir: s.dataDir, network: s.network, family }).dir));
  }

  /** Where the records are read from, for messages: "dir/network (file)". */
  describe(): string {
    const sources = this.sources();
    return sources.length ? sources.map((s) => `${s.dataDir}/${s.network} (${s.from})`).join(", ") : `nowhere: no weft network in ${this.opts.confDir}`;
  }

  /** What /readyz reports about the plugin's configuration (a conflist whose subnetFile is not weftd's). */
  problems(): string[] {
    return this.problemsNow;
  }

  private sources(): Source[] {
    const { networks, unreadable } = readPluginNetworks(this.opts.confDir);
    const sources: Source[] = networks.map((n) => ({ dataDir: n.dataDir, network: n.name, from: n.file }));
    const extra = this.opts.extra;
    if (extra && !sources.some((s) => s.dataDir === extra.dataDir && s.network === extra.network)) sources.push({ ...extra, from: "--data-dir/--cni-network" });
    this.noticeChanges(sources, networks, unreadable);
    return sources;
  }

  /** Logs what weftd reads from when that changes, not at every resync. */
  private noticeChanges(sources: Source[], networks: PluginNetwork[], unreadable: { file: string; why: string }[]): void {
    const problems = networks
      .filter((n) => n.subnetFile !== this.opts.subnetFile)
      .map((n) => `${n.file} has the plugin read ${n.subnetFile}, but weftd writes ${this.opts.subnetFile} (--subnet-file): ADD fails on this node until they name the same file`);
    const key = JSON.stringify({ sources, problems, unreadable });
    this.problemsNow = problems;
    if (key === this.seen) return;
    this.seen = key;
    if (sources.length) this.log().info({ confDir: this.opts.confDir, records: sources.map((s) => `${s.dataDir}/${s.network}`), from: sources.map((s) => s.from) }, "reading the plugin's pod IP records where its config says");
    else this.log().warn({ confDir: this.opts.confDir }, "no weft network configured in the CNI conf dir (--cni-conf-dir): no pod IP records to read; running pods keep their anti-spoofing entries");
    for (const p of problems) this.log().error(p);
    for (const u of unreadable) this.log().warn({ file: u.file, err: u.why }, "skipping a CNI config file that cannot be read (the runtime skips it too)");
  }
}

/** The weft pod ports (host veths) the kernel has: which pods run, whatever the records say. */
export function podPorts(h: NetlinkHandle): string[] {
  return h
    .linkList()
    .filter((l) => l.kind === "veth" && l.name.startsWith(HOST_VETH_PREFIX))
    .map((l) => l.name);
}
