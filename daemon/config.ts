// weftd's flags; each one also reads WEFTD_<NAME> from the environment (--etcd-endpoints ↔ WEFTD_ETCD_ENDPOINTS).
import yargs from "yargs";

export interface DaemonConfig {
  etcdEndpoints: string[];
  etcdPrefix: string;
  etcdCafile?: string;
  etcdCertfile?: string;
  etcdKeyfile?: string;
  iface?: string;
  publicIp?: string;
  /** A dual-stack node's IPv6 underlay address; default: the interface's. */
  publicIpv6?: string;
  subnetFile: string;
  /** Where the runtime reads CNI configs: weftd finds the plugin's IP records through its conflists. */
  cniConfDir: string;
  /** One more store of the plugin's IP records, for a plugin configured where weftd cannot see it. */
  dataDir?: string;
  cniNetwork?: string;
  ipMasq: boolean;
  /** Drop frames a pod sends from any address but its own (an nftables bridge table). */
  antiSpoofing: boolean;
  healthzAddr: string;
  resyncInterval: number;
  /** Seconds between full reconciles that re-read every kernel entry; between them the kernel's notifications drive repair. */
  fullResyncInterval: number;
  leaseTtl: number;
  logLevel: string;
  /** A network config file (flannel's net-conf.json) to put into etcd when none is there yet. */
  netConf?: string;
  /** The wireguard backend's private key, kept across restarts and reboots. */
  wireguardKeyFile: string;
  /** The wireguard backend's device (separate mode's IPv6 device: <name>-v6). */
  wireguardDevice: string;
  wireguardImplementation: "auto" | "kernel" | "userspace";
  wireguardGo: string;
  /** A kubeconfig for the Kubernetes API (pods, namespaces, policies); without one, the pod's service account if it has one. */
  kubeconfig?: string;
  /** "off": no Kubernetes API even in a pod; "auto": --kubeconfig, else in-cluster, else none. */
  kubeApi: "off" | "auto";
  /** This node's name as its pods' spec.nodeName says it; default: the Node that has this node's address. */
  nodeName?: string;
  /** Also cut established flows that a policy change now denies (their conntrack entries removed). */
  policyStrict: boolean;
  /** The NFLOG group drop-log rules send to and weftd reads (one reader per group in a network namespace). */
  policyLogGroup: number;
  /** weftd's cap on drop-log lines per second; the rest are counted, not written. */
  policyLogRate: number;
  /** How long (ms) the plugin holds a new pod's addresses until weftd has judged them; 0: no hold. */
  policyNewPodHoldMs: number;
}

export function parseDaemonArgs(argv: string[], version: string): DaemonConfig {
  const a = yargs(argv)
    .scriptName("weftd")
    .usage("weftd: leases this node's pod subnet in etcd and wires the VXLAN overlay to every other node\n\nUsage: weftd [options]")
    .env("WEFTD")
    // A flag given twice takes its last value (a wrapper's override), not an array no option expects.
    .parserConfiguration({ "duplicate-arguments-array": false })
    .version(version)
    .options({
      "etcd-endpoints": { type: "string", default: "http://127.0.0.1:2379", describe: "comma-separated etcd endpoints" },
      "etcd-prefix": { type: "string", default: "/weft/network", describe: "etcd key prefix of the network config and leases" },
      "etcd-cafile": { type: "string", describe: "CA to verify etcd's certificate (enables TLS)" },
      "etcd-certfile": { type: "string", describe: "client certificate for etcd" },
      "etcd-keyfile": { type: "string", describe: "client key for etcd" },
      iface: { type: "string", describe: "underlay interface (name or IP); default: the default route's" },
      "public-ip": { type: "string", describe: "on a network with IPv4, the address other nodes reach this node at; default: the interface's" },
      "public-ipv6": { type: "string", describe: "on a network with IPv6 (dual-stack or IPv6-only), the IPv6 address other nodes reach this node at; default: the interface's" },
      "subnet-file": { type: "string", default: "/run/weft/subnet.env", describe: "where to write subnet.env for the CNI plugin" },
      "cni-conf-dir": { type: "string", default: "/etc/cni/net.d", describe: "the container runtime's CNI conf dir: weftd reads the plugin's IP records where the weft conflists there say" },
      "data-dir": { type: "string", describe: "an extra store of the plugin's IP records, read beside the conflists' (only for a conflist weftd cannot see)" },
      "cni-network": { type: "string", describe: "the network name of the --data-dir store (default: weft)" },
      "ip-masq": { type: "boolean", default: false, describe: "masquerade pod traffic leaving the pod network" },
      "anti-spoofing": { type: "boolean", default: true, describe: "drop frames a pod sends from another MAC or IPv4 address than its own (--no-anti-spoofing removes the filter)" },
      "healthz-addr": { type: "string", default: "127.0.0.1:9901", describe: "address of /healthz, /readyz and /metrics" },
      "resync-interval": { type: "number", default: 10, describe: "seconds between resyncs of the NAT and filter rules and the pod IP mirror" },
      "full-resync-interval": { type: "number", default: 300, describe: "seconds between full reconciles that re-read every route, neighbour and FDB entry; between them drift is repaired from the kernel's change notifications as it happens" },
      "lease-ttl": { type: "number", default: 86_400, describe: "seconds the subnet lease lives unless renewed" },
      "log-level": { type: "string", default: "info", choices: ["debug", "info", "warn", "error"] },
      "net-conf": { type: "string", describe: "network config file (flannel's net-conf.json) to put into etcd if <prefix>/config is absent" },
      "wireguard-key-file": { type: "string", default: "/var/lib/weft/wireguard.key", describe: "wireguard backend: this node's private key, made once (0400) and kept across restarts and reboots" },
      "wireguard-device": { type: "string", default: "weft-wg", describe: "wireguard backend: the device's name (separate mode's IPv6 device adds -v6); nodes sharing a host's /var/run/wireguard need distinct names" },
      "wireguard-implementation": { type: "string", default: "auto", choices: ["auto", "kernel", "userspace"], describe: "wireguard backend: the kernel's module, wireguard-go in userspace, or auto (the kernel's where it has one)" },
      "wireguard-go": { type: "string", default: "wireguard-go", describe: "wireguard backend: the userspace implementation's executable" },
      kubeconfig: { type: "string", describe: "kubeconfig for the Kubernetes API (its current context); default: the pod's service account when weftd runs in a pod" },
      "kube-api": { type: "string", default: "auto", choices: ["off", "auto"], describe: "watch pods, namespaces and network policies in the Kubernetes API: auto (--kubeconfig, else in-cluster, else run without) or off" },
      "node-name": { type: "string", describe: "this node's Kubernetes name (spec.nodeName of its pods), for network policy; default: the Node whose addresses include this node's underlay address" },
      "policy-strict": { type: "boolean", default: false, describe: "network policy: a change also cuts established connections it now denies (their conntrack entries marked 0x01000000 with the conntrack tool, dropped both ways; cleared when allowed again); default: they keep their verdict" },
      "policy-log-group": { type: "number", default: 30565, describe: "network policy drop logging (namespaces annotated weft.dev/policy-log: \"true\"): the NFLOG group its rules log to and weftd reads, 0-65535; pick another if something else on the node reads this one" },
      "policy-new-pod-hold": { type: "number", default: 1000, describe: "network policy: a new pod's addresses are dropped both ways from the plugin's ADD until weftd has judged the pod, for at most this many ms (then let through, judged or not, so that a stopped weftd never cuts pods off); 0 turns the hold off" },
      "policy-log-rate": { type: "number", default: 100, describe: "network policy drop logging: at most this many lines per second (each rule is also limited to 10 packets a second in the kernel); the rest are counted in weft_policy_drop_log_suppressed_total" },
    })
    .strict()
    .help()
    .parseSync();
  const cfg: DaemonConfig = {
    etcdEndpoints: a["etcd-endpoints"].split(",").map((s) => s.trim()).filter(Boolean),
    etcdPrefix: a["etcd-prefix"],
    subnetFile: a["subnet-file"],
    cniConfDir: a["cni-conf-dir"],
    ipMasq: a["ip-masq"],
    antiSpoofing: a["anti-spoofing"],
    healthzAddr: a["healthz-addr"],
    resyncInterval: a["resync-interval"],
    fullResyncInterval: a["full-resync-interval"],
    leaseTtl: a["lease-ttl"],
    logLevel: a["log-level"],
    wireguardKeyFile: a["wireguard-key-file"],
    wireguardDevice: a["wireguard-device"],
    wireguardImplementation: a["wireguard-implementation"] as DaemonConfig["wireguardImplementation"],
    wireguardGo: a["wireguard-go"],
    kubeApi: a["kube-api"] as DaemonConfig["kubeApi"],
    policyStrict: a["policy-strict"],
    policyLogGroup: a["policy-log-group"],
    policyLogRate: a["policy-log-rate"],
    policyNewPodHoldMs: a["policy-new-pod-hold"],
  };
  for (const [key, flag] of [["etcdCafile", "etcd-cafile"], ["etcdCertfile", "etcd-certfile"], ["etcdKeyfile", "etcd-keyfile"], ["iface", "iface"], ["publicIp", "public-ip"], ["publicIpv6", "public-ipv6"], ["netConf", "net-conf"], ["dataDir", "data-dir"], ["cniNetwork", "cni-network"], ["kubeconfig", "kubeconfig"], ["nodeName", "node-name"]] as const) {
    const v = a[flag];
    if (typeof v === "string" && v) cfg[key] = v;
  }
  if (!(cfg.fullResyncInterval > 0)) throw new Error(`--full-resync-interval must be > 0, got ${cfg.fullResyncInterval}`);
  if (!(cfg.resyncInterval > 0)) throw new Error(`--resync-interval must be > 0, got ${cfg.resyncInterval}`);
  // The IPv6 device's name is 3 longer, and a Linux interface name has at most 15 characters.
  if (!/^[A-Za-z0-9_.-]{1,12}$/.test(cfg.wireguardDevice)) throw new Error(`--wireguard-device ${JSON.stringify(cfg.wireguardDevice)} must be 1 to 12 letters, digits, '_', '.' or '-' (its IPv6 twin adds -v6)`);
  if (cfg.kubeconfig && cfg.kubeApi === "off") throw new Error(`--kubeconfig ${cfg.kubeconfig} and --kube-api off contradict each other: drop one`);
  if (!Number.isInteger(cfg.policyLogGroup) || cfg.policyLogGroup < 0 || cfg.policyLogGroup > 65535) throw new Error(`--policy-log-group must be an NFLOG group from 0 to 65535, got ${cfg.policyLogGroup}`);
  if (!Number.isInteger(cfg.policyNewPodHoldMs) || cfg.policyNewPodHoldMs < 0 || cfg.policyNewPodHoldMs > 60_000) throw new Error(`--policy-new-pod-hold must be 0 to 60000 ms, got ${cfg.policyNewPodHoldMs}`);
  if (!(cfg.policyLogRate > 0)) throw new Error(`--policy-log-rate must be > 0 lines per second, got ${cfg.policyLogRate}`);
  if (!(cfg.leaseTtl >= 5)) throw new Error(`--lease-ttl must be at least 5 seconds, got ${cfg.leaseTtl}`);
  return cfg;
}
