// A netlink handle bound to one network namespace: intent-named operations over one socket.
import type { NetlinkHandle } from "./api.js";
import { buildAddr, buildDumpAddrs, parseAddr } from "./codec/address.js";
import { buildDelLink, buildDumpLinks, buildGetLink, buildNewLink, buildSetHairpin, buildSetLink, parseLink, type LinkChange, type NewLinkSpec } from "./codec/link.js";
import { buildDumpNeighs, buildNeigh, parseNeigh } from "./codec/neighbour.js";
import { buildDumpRoutes, buildRoute, parseRoute } from "./codec/route.js";
import { RT_TABLE_MAIN, RTM, RTN_UNICAST } from "./codec/constants.js";
import { NotFoundError } from "./errors.js";
import { inNetns, openNetnsFd } from "./netns.js";
import { NetlinkSocket } from "./socket.js";
import type { Address, Family, Link, LinkOptions, LinkRef, NeighFilter, Neighbour, Route, RouteFilter, VethOptions, VxlanOptions } from "./types.js";
import { closeSync } from "node:fs";

const describeLink = (ref: LinkRef): string => (typeof ref === "number" ? `link #${ref}` : `link "${ref}"`);
const describeRoute = (r: Route): string => `route ${r.dst ?? "default"}${r.gateway ? ` via ${r.gateway}` : ""}${r.oif ? ` dev #${r.oif}` : ""}`;
const describeNeigh = (n: Neighbour): string =>
  `${n.family === "bridge" ? "fdb entry" : "neighbour"} ${n.lladdr ?? ""}${n.dst ? ` ${n.dst}` : ""} dev #${n.ifindex}`.replace("  ", " ");

class Handle implements NetlinkHandle {
  constructor(
    private readonly sock: NetlinkSocket,
    readonly netnsPath: string | undefined,
  ) {}

  close(): void {
    this.sock.close();
  }

  private where(object: string): string {
    return this.netnsPath ? `${object} in ${this.netnsPath}` : object;
  }

  private index(ref: LinkRef): number {
    return typeof ref === "number" ? ref : this.linkGet(ref).index;
  }

  // ---- links

  linkGet(ref: LinkRef): Link {
    const [reply] = this.sock.request(buildGetLink(ref), "get", this.where(describeLink(ref)));
    if (!reply || reply.type !== RTM.NEWLINK) throw new NotFoundError("get", this.where(describeLink(ref)), 19);
    return parseLink(reply.payload);
  }

  linkFind(ref: LinkRef): Link | undefined {
    try {
      return this.linkGet(ref);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  linkList(): Link[] {
    return this.sock.dump(buildDumpLinks(), "list", this.where("links")).map((m) => parseLink(m.payload));
  }

  private linkAdd(spec: NewLinkSpec): Link {
    this.sock.request(buildNewLink(spec), "add", this.where(`${spec.kind} "${spec.name}"`));
    return this.linkGet(spec.name);
  }

  linkAddBridge(name: string, opts: LinkOptions = {}): Link {
    return this.linkAdd({ name, kind: "bridge", ...opts });
  }

  linkAddWireguard(name: string, opts: LinkOptions = {}): Link {
    return this.linkAdd({ name, kind: "wireguard", ...opts });
  }

  linkAddVeth(name: string, peerName: string, opts: VethOptions = {}): Link {
    const nsFd = opts.peerNetnsPath ? openNetnsFd(opts.peerNetnsPath) : undefined;
    try {
      const peer: NonNullable<NewLinkSpec["peer"]> = { name: peerName };
      if (nsFd !== undefined) peer.netnsFd = nsFd;
      if (opts.peerMtu ?? opts.mtu) peer.mtu = (opts.peerMtu ?? opts.mtu) as number;
      if (opts.peerMac) peer.mac = opts.peerMac;
      const spec: NewLinkSpec = { name, kind: "veth", peer, ...(opts.masterIndex ? { masterIndex: opts.masterIndex } : {}) };
      if (opts.mtu) spec.mtu = opts.mtu;
      if (opts.mac) spec.mac = opts.mac;
      return this.linkAdd(spec);
    } finally {
      if (nsFd !== undefined) closeSync(nsFd);
    }
  }

  linkAddVxlan(name: string, opts: VxlanOptions): Link {
    const vxlan: NonNullable<NewLinkSpec["vxlan"]> = { vni: opts.vni, learning: opts.learning ?? false };
    if (opts.local) vxlan.local = opts.local;
    if (opts.devIndex) vxlan.devIndex = opts.devIndex;
    if (opts.port) vxlan.port = opts.port;
    const spec: NewLinkSpec = { name, kind: "vxlan", vxlan };
    if (opts.mtu) spec.mtu = opts.mtu;
    if (opts.mac) spec.mac = opts.mac;
    return this.linkAdd(spec);
  }

  private linkSet(ref: LinkRef, change: LinkChange, what: string): void {
    this.sock.request(buildSetLink(ref, change), what, this.where(describeLink(ref)));
  }

  linkSetUp(ref: LinkRef): void {
    this.linkSet(ref, { up: true }, "set up");
  }

  linkSetDown(ref: LinkRef): void {
    this.linkSet(ref, { up: false }, "set down");
  }

  linkSetMtu(ref: LinkRef, mtu: number): void {
    this.linkSet(ref, { mtu }, `set mtu ${mtu} on`);
  }

  linkSetMac(ref: LinkRef, mac: string): void {
    this.linkSet(ref, { mac }, `set address ${mac} on`);
  }

  linkSetMaster(ref: LinkRef, master: LinkRef | null): void {
    const masterIndex = master === null ? 0 : this.index(master);
    this.linkSet(ref, { masterIndex }, master === null ? "release from master" : `enslave to ${describeLink(master)}:`);
  }

  linkSetName(ref: LinkRef, name: string): void {
    this.linkSet(this.index(ref), { name }, `rename to "${name}"`);
  }

  linkSetNetns(ref: LinkRef, netnsPath: string): void {
    const fd = openNetnsFd(netnsPath);
    try {
      this.linkSet(ref, { netnsFd: fd }, `move to ${netnsPath}`);
    } finally {
      closeSync(fd);
    }
  }

  linkSetHairpin(ref: LinkRef, on: boolean): void {
    this.sock.request(buildSetHairpin(this.index(ref), on), `set hairpin ${on ? "on" : "off"}`, this.where(describeLink(ref)));
  }

  linkDelete(ref: LinkRef): void {
    this.sock.request(buildDelLink(ref), "delete", this.where(describeLink(ref)));
  }

  // ---- addresses

  addrAdd(ref: LinkRef, cidr: string): void {
    this.sock.request(buildAddr("new", this.index(ref), cidr), "add", this.where(`address ${cidr} on ${describeLink(ref)}`));
  }

  addrReplace(ref: LinkRef, cidr: string): void {
    this.sock.request(buildAddr("replace", this.index(ref), cidr), "replace", this.where(`address ${cidr} on ${describeLink(ref)}`));
  }

  addrDel(ref: LinkRef, cidr: string): void {
    this.sock.request(buildAddr("del", this.index(ref), cidr), "delete", this.where(`address ${cidr} on ${describeLink(ref)}`));
  }

  addrList(ref?: LinkRef, family?: Family): Address[] {
    const all = this.sock.dump(buildDumpAddrs(family), "list", this.where("addresses")).map((m) => parseAddr(m.payload));
    if (ref === undefined) return all;
    const index = this.index(ref);
    return all.filter((a) => a.ifindex === index);
  }

  // ---- routes

  routeAdd(route: Route): void {
    this.sock.request(buildRoute("new", route), "add", this.where(describeRoute(route)));
  }

  routeReplace(route: Route): void {
    this.sock.request(buildRoute("replace", route), "replace", this.where(describeRoute(route)));
  }

  routeDel(route: Route): void {
    this.sock.request(buildRoute("del", route), "delete", this.where(describeRoute(route)));
  }

  routeList(filter: RouteFilter = {}): Route[] {
    const table = filter.table ?? RT_TABLE_MAIN;
    return this.sock
      .dump(buildDumpRoutes(filter), "list", this.where("routes"))
      .map((m) => parseRoute(m.payload))
      .filter((r) => r.table === table && r.type === RTN_UNICAST && (filter.oif === undefined || r.oif === filter.oif))
      .map(({ type: _type, ...r }) => r);
  }

  // ---- neighbours and FDB

  neighAdd(neigh: Neighbour): void {
    this.sock.request(buildNeigh("new", neigh), "add", this.where(describeNeigh(neigh)));
  }

  neighReplace(neigh: Neighbour): void {
    this.sock.request(buildNeigh("replace", neigh), "replace", this.where(describeNeigh(neigh)));
  }

  neighDel(neigh: Neighbour): void {
    this.sock.request(buildNeigh("del", neigh), "delete", this.where(describeNeigh(neigh)));
  }

  neighList(filter: NeighFilter = {}): Neighbour[] {
    const all = this.sock.dump(buildDumpNeighs(filter), "list", this.where("neighbours")).map((m) => parseNeigh(m.payload));
    return all.filter((n) => (filter.ifindex === undefined || n.ifindex === filter.ifindex) && (filter.family === undefined || n.family === filter.family));
  }
}

/** Opens a handle on the namespace at `netnsPath` (e.g. /var/run/netns/X, /proc/PID/ns/net), or the caller's own. */
export function openHandle(netnsPath?: string): NetlinkHandle {
  const sock = netnsPath ? inNetns(netnsPath, () => NetlinkSocket.open()) : NetlinkSocket.open();
  return new Handle(sock, netnsPath);
}

