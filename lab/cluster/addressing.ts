// The lab's addresses, per IP family: the underlay (the fabric bridge's network), the router and the
// WAN standing for the internet, etcd and the nodes on the underlay, the pod network, the service
// range, cluster DNS and the LoadBalancer pools. An IPv4 lab uses the IPv4 plan, an IPv6-only lab the
// IPv6 plan (no IPv4 address anywhere in it), a dual-stack lab both, IPv4 first. The IPv6 prefixes are
// unique-local and documentation ones, and live inside the lab's namespaces only.
import type { IpFamily } from "../../proxy/model.js";
import type { LabBackend, LabIpFamily, LabState, LabWireguardMode } from "./state.js";

export type { LabIpFamily };
export const LAB_IP_FAMILIES: LabIpFamily[] = ["ipv4", "ipv6", "dual"];

export interface FamilyPlan {
  family: IpFamily;
  /** The underlay's network and its prefix length. */
  underlay: string;
  prefixLen: number;
  router: string;
  node(i: number): string;
  etcd(i: number): string;
  wan: { router: string; host: string; prefixLen: number };
  podNetwork: string;
  serviceCidr: string;
  clusterDns: string;
  lbPool: [string, string];
}

export const PLANS: Record<IpFamily, FamilyPlan> = {
  IPv4: {
    family: "IPv4",
    underlay: "192.168.56.0/24",
    prefixLen: 24,
    router: "192.168.56.1",
    node: (i) => `192.168.56.${11 + i}`,
    etcd: (i) => `192.168.56.${2 + i}`,
    wan: { router: "203.0.113.1", host: "203.0.113.10", prefixLen: 24 },
    podNetwork: "10.244.0.0/16",
    serviceCidr: "10.96.0.0/12",
    clusterDns: "10.96.0.10",
    lbPool: ["192.168.56.200", "192.168.56.250"],
  },
  IPv6: {
    family: "IPv6",
    underlay: "fd00:56::/64",
    prefixLen: 64,
    router: "fd00:56::1",
    node: (i) => `fd00:56::${(11 + i).toString(16)}`,
    etcd: (i) => `fd00:56::${(2 + i).toString(16)}`,
    wan: { router: "2001:db8:203::1", host: "2001:db8:203::10", prefixLen: 64 },
    podNetwork: "fd00:10:244::/56",
    serviceCidr: "fd00:10:96::/112",
    clusterDns: "fd00:10:96::a",
    lbPool: ["fd00:56::200", "fd00:56::250"],
  },
};

/** The lab's families, the first one first (its pods' podIP, its Services' default family). */
export function familiesOf(f: LabIpFamily | undefined): IpFamily[] {
  return f === "ipv6" ? ["IPv6"] : f === "dual" ? ["IPv4", "IPv6"] : ["IPv4"];
}

export const labFamilies = (state: LabState): IpFamily[] => familiesOf(state.options.ipFamily);
export const primaryPlan = (state: LabState): FamilyPlan => PLANS[labFamilies(state)[0] ?? "IPv4"];

/** kube-apiserver's --service-cluster-ip-range for the lab's families. */
export const defaultServiceCidr = (f: LabIpFamily): string => familiesOf(f).map((x) => PLANS[x].serviceCidr).join(",");

/**
 * The network config the lab puts in etcd: flannel's fields for the lab's families and backend. The
 * lab's nodes lease subnets 1–199 (SubnetMax): 200–255 are left for the nodes a test writes into etcd
 * itself (a flanneld-programmed node, a malformed lease), which must never collide with a lab node's.
 */
export function networkConfig(directRouting: boolean, f: LabIpFamily, backend: LabBackend = "vxlan", wireguardMode: LabWireguardMode = "separate"): string {
  const families = familiesOf(f);
  const v4 = families.includes("IPv4") ? { Network: PLANS.IPv4.podNetwork, SubnetLen: 24, SubnetMax: "10.244.199.0" } : { EnableIPv4: false };
  const v6 = families.includes("IPv6") ? { EnableIPv6: true, IPv6Network: PLANS.IPv6.podNetwork, IPv6SubnetMax: "fd00:10:244:c7::" } : {};
  const Backend = backend === "wireguard" ? { Type: "wireguard", ListenPort: 51820, ListenPortV6: 51821, Mode: wireguardMode } : backend === "host-gw" ? { Type: "host-gw" } : { Type: "vxlan", VNI: 1, Port: 8472, DirectRouting: directRouting };
  return JSON.stringify({ ...v4, ...v6, Backend });
}

/** How pod traffic crosses between nodes, for the status and the report. */
export function crossNodeMode(options: { directRouting: boolean; backend?: LabBackend; wireguardMode?: LabWireguardMode }): string {
  if (options.backend === "wireguard") return (options.wireguardMode ?? "separate") === "separate" ? "WireGuard (a device per family on each node, UDP 51820; IPv6 UDP 51821), encrypted" : `WireGuard (one device per node for both families, mode ${options.wireguardMode}, UDP 51820), encrypted`;
  if (options.backend === "host-gw") return "host-gw: a route to each node's subnet via its underlay address";
  return options.directRouting ? "direct routing over the underlay" : "VXLAN (weft.1, VNI 1, UDP 8472)";
}

/** The underlay's networks, the router's and the WAN's addresses, as the status and the report show them. */
export function underlaySummary(state: LabState): { networks: string; router: string; wan: string } {
  const plans = labFamilies(state).map((f) => PLANS[f]);
  return { networks: plans.map((p) => p.underlay).join(", "), router: plans.map((p) => p.router).join(", "), wan: plans.map((p) => p.wan.router).join(", ") };
}

/** An address in a URL: IPv6 in brackets. */
export const urlHost = (ip: string): string => (ip.includes(":") ? `[${ip}]` : ip);
