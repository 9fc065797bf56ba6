// What differs between an IPv4 and an IPv6 proxier's rule text. kube-proxy runs one proxier per
// family with the same layout in each (iptables and ip6tables, tables "ip" and "ip6 kube-proxy");
// only these words change.
import type { IpFamily } from "./model.js";

export interface FamilySyntax {
  family: IpFamily;
  /** Prefix length of one host ("-d 10.96.0.1/32"). */
  hostMask: "/32" | "/128";
  /** REJECT's ICMP type that tells the client "connection refused". */
  portUnreachable: "icmp-port-unreachable" | "icmp6-port-unreachable";
  /** The recent match's --mask: the whole client address. */
  allOnesMask: string;
  /** The iptables family's command prefix: <bin>-save, <bin>-restore. */
  iptablesBin: "iptables" | "ip6tables";
  /** nftables: the table's family, the address match's keyword and the address type. */
  nftFamily: "ip" | "ip6";
  nftAddrType: "ipv4_addr" | "ipv6_addr";
  /** Node ports never answer on loopback ("!= 127.0.0.0/8"); IPv6 cannot route ::1 anywhere. */
  loopback: string;
}

const IPV4: FamilySyntax = { family: "IPv4", hostMask: "/32", portUnreachable: "icmp-port-unreachable", allOnesMask: "255.255.255.255", iptablesBin: "iptables", nftFamily: "ip", nftAddrType: "ipv4_addr", loopback: "127.0.0.0/8" };
const IPV6: FamilySyntax = { family: "IPv6", hostMask: "/128", portUnreachable: "icmp6-port-unreachable", allOnesMask: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", iptablesBin: "ip6tables", nftFamily: "ip6", nftAddrType: "ipv6_addr", loopback: "::1" };

export const familySyntax = (family: IpFamily): FamilySyntax => (family === "IPv6" ? IPV6 : IPV4);

/** "10.244.1.2:8080" or "[fd00::2]:8080", as Go's net.JoinHostPort (kube-proxy's endpoint strings). */
export const hostPort = (ip: string, port: number): string => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);
