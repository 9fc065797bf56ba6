// Public types of the netlink layer. Addresses are strings ("10.244.1.5", CIDR "10.244.1.0/24"),
// MACs are lower-case "aa:bb:cc:dd:ee:ff". A link is referred to by ifindex or by name.

export type Mac = string;
export type LinkRef = number | string;
export type Family = 4 | 6;

export interface VxlanInfo {
  vni: number;
  /** Local (source) underlay address. */
  local?: string;
  /** ifindex of the underlay device. */
  devIndex?: number;
  port?: number;
  learning: boolean;
}

export interface Link {
  index: number;
  name: string;
  /** IFLA_INFO_KIND: "veth", "bridge", "vxlan", … (undefined for plain devices such as lo). */
  kind?: string;
  mtu: number;
  mac?: Mac;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** ifindex of the bridge this link is a port of. */
  masterIndex?: number;
  /** ifindex of the peer/parent (IFLA_LINK), e.g. a veth's peer index in its namespace. */
  parentIndex?: number;
  vxlan?: VxlanInfo;
  /** Bridge port settings, present when the link is enslaved to a bridge. */
  bridgePort?: { hairpin: boolean };
}

export interface LinkOptions {
  mtu?: number;
  mac?: Mac;
}

export interface VethOptions extends LinkOptions {
  /** Create the peer directly inside this namespace (path such as /var/run/netns/X or /proc/PID/ns/net). */
  peerNetnsPath?: string;
  peerMtu?: number;
  peerMac?: Mac;
  /** The host end is born enslaved to this bridge, saving a request. */
  masterIndex?: number;
}

export interface VxlanOptions extends LinkOptions {
  vni: number;
  local?: string;
  devIndex?: number;
  port?: number;
  learning?: boolean;
}

export interface Address {
  ifindex: number;
  family: Family;
  address: string;
  prefixLen: number;
  /** "universe" | "link" | "host" */
  scope?: RouteScope;
}

export type RouteScope = "universe" | "link" | "host";

export interface Route {
  family?: Family;
  /** Destination CIDR; undefined means the default route. */
  dst?: string;
  gateway?: string;
  /** Outgoing interface index. */
  oif?: number;
  onlink?: boolean;
  scope?: RouteScope;
  /** Routing table; default main (254). */
  table?: number;
  /** RTPROT_*; default boot (3). */
  protocol?: number;
  src?: string;
  mtu?: number;
  metric?: number;
}

export interface RouteFilter {
  family?: Family;
  table?: number;
  oif?: number;
}

/** Neighbour states (NUD_*). */
export const NUD = { INCOMPLETE: 0x01, REACHABLE: 0x02, STALE: 0x04, DELAY: 0x08, PROBE: 0x10, FAILED: 0x20, NOARP: 0x40, PERMANENT: 0x80 } as const;

export interface Neighbour {
  ifindex: number;
  /** 4/6 for ARP/ND entries; "bridge" for FDB entries (AF_BRIDGE). */
  family: Family | "bridge";
  /** IP of the neighbour (ARP/ND), or the remote VTEP for a VXLAN FDB entry (NDA_DST). */
  dst?: string;
  lladdr?: Mac;
  /** NUD_* bits; default PERMANENT. */
  state?: number;
  /** NTF_* bits; FDB entries on a VXLAN device need NTF_SELF (0x02). */
  flags?: number;
}

export interface NeighFilter {
  family?: Family | "bridge";
  ifindex?: number;
}
