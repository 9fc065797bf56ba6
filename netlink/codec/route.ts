// RTM_*ROUTE messages: struct rtmsg {family, dst_len, src_len, tos, table, protocol, scope, type (u8 each),
// flags u32} with RTA_* attributes; RTNH_F_ONLINK in rtm_flags marks an on-link gateway.
import type { Family, Route, RouteFilter, RouteScope } from "../types.js";
import { afOf, decodeIp, encodeIp, familyOfAf, ipFamily, parseCidr } from "./addresses.js";
import { attrU32, ByteWriter, parseAttributes } from "./attributes.js";
import { AF_UNSPEC, NLM_F, RT_SCOPE, RT_SCOPE_NOWHERE, RT_TABLE_MAIN, RTA, RTAX_MTU, RTM, RTN_UNICAST, RTNH_F_ONLINK, RTPROT_BOOT } from "./constants.js";
import { requireLength } from "./message.js";
import { changeFlags, type Request } from "./request.js";
import { readU32LE, readU8 } from "./bytes.js";

const RTMSG_LEN = 12;

export function scopeName(n: number): RouteScope {
  return n === RT_SCOPE.link ? "link" : n === RT_SCOPE.host ? "host" : "universe";
}

function routeFamily(r: Route): Family {
  if (r.family) return r.family;
  if (r.dst) return parseCidr(r.dst).family;
  if (r.gateway) return ipFamily(r.gateway);
  return 4;
}

export function buildRoute(type: "new" | "replace" | "del", r: Route): Request {
  const family = routeFamily(r);
  const dst = r.dst ? parseCidr(r.dst) : undefined;
  const table = r.table ?? RT_TABLE_MAIN;
  // A route without a gateway reaches its destination directly: link scope, as `ip route` picks.
  const scope = r.scope ? RT_SCOPE[r.scope] : r.gateway || type === "del" ? RT_SCOPE.universe : RT_SCOPE.link;
  const w = new ByteWriter();
  w.u8(afOf(family));
  w.u8(dst?.prefixLen ?? 0);
  w.u8(0);
  w.u8(0);
  w.u8(table < 256 ? table : 0);
  w.u8(type === "del" ? 0 : (r.protocol ?? RTPROT_BOOT));
  w.u8(type === "del" && !r.scope ? RT_SCOPE_NOWHERE : scope);
  w.u8(type === "del" ? 0 : RTN_UNICAST);
  w.u32(r.onlink ? RTNH_F_ONLINK : 0);
  if (dst) w.attr(RTA.DST, encodeIp(dst.ip));
  if (r.gateway) w.attr(RTA.GATEWAY, encodeIp(r.gateway));
  if (r.oif) w.attrU32(RTA.OIF, r.oif);
  if (r.src) w.attr(RTA.PREFSRC, encodeIp(r.src));
  if (r.metric !== undefined) w.attrU32(RTA.PRIORITY, r.metric);
  if (table >= 256) w.attrU32(RTA.TABLE, table);
  if (r.mtu) w.nest(RTA.METRICS, () => w.attrU32(RTAX_MTU, r.mtu as number));
  const flags = changeFlags(type);
  return { type: type === "del" ? RTM.DELROUTE : RTM.NEWROUTE, flags, body: w.toBuffer() };
}

export function buildDumpRoutes(filter: RouteFilter = {}): Request {
  const w = new ByteWriter();
  w.u8(filter.family ? afOf(filter.family) : AF_UNSPEC);
  w.zeros(RTMSG_LEN - 1);
  return { type: RTM.GETROUTE, flags: NLM_F.REQUEST | NLM_F.DUMP, body: w.toBuffer() };
}

export function parseRoute(payload: Buffer): Route & { family: Family; table: number; type: number } {
  requireLength(payload, RTMSG_LEN, "rtmsg");
  const attrs = parseAttributes(payload, RTMSG_LEN);
  const family = familyOfAf(readU8(payload, 0));
  const dstLen = readU8(payload, 1);
  const dstRaw = attrs.get(RTA.DST);
  const route: Route & { family: Family; table: number; type: number } = {
    family,
    table: attrU32(attrs.get(RTA.TABLE)) ?? readU8(payload, 4),
    protocol: readU8(payload, 5),
    scope: scopeName(readU8(payload, 6)),
    type: readU8(payload, 7),
  };
  if (dstRaw) route.dst = `${decodeIp(dstRaw)}/${dstLen}`;
  else if (dstLen !== 0) route.dst = `${family === 4 ? "0.0.0.0" : "::"}/${dstLen}`;
  const gw = attrs.get(RTA.GATEWAY);
  if (gw) route.gateway = decodeIp(gw);
  const oif = attrU32(attrs.get(RTA.OIF));
  if (oif) route.oif = oif;
  const src = attrs.get(RTA.PREFSRC);
  if (src) route.src = decodeIp(src);
  const prio = attrU32(attrs.get(RTA.PRIORITY));
  if (prio !== undefined) route.metric = prio;
  if (readU32LE(payload, 8) & RTNH_F_ONLINK) route.onlink = true;
  const metrics = attrs.get(RTA.METRICS);
  if (metrics) {
    const mtu = attrU32(parseAttributes(metrics).get(RTAX_MTU));
    if (mtu) route.mtu = mtu;
  }
  return route;
}
