// Reads what the kernel holds on weft's device and routes, and applies a plan to it, in flannel's
// order: ARP → FDB → route when adding, route → ARP → FDB when removing.
import { NotFoundError, NUD, type NetlinkHandle } from "../../../netlink/index.js";
import { NTF_SELF, RTPROT_WEFT, type OverlayPlan, type OverlayState } from "./overlay-plan.js";

/** `vxlanIndex` 0: no device (host-gw), weft's routes alone. */
export function readOverlay(h: NetlinkHandle, vxlanIndex: number, family: 4 | 6 = 4): OverlayState {
  const routes = h
    .routeList({ family })
    .filter((r) => r.protocol === RTPROT_WEFT && r.dst && r.gateway && r.oif)
    .map((r) => ({ dst: r.dst as string, gateway: r.gateway as string, oif: r.oif as number, onlink: r.onlink === true }));
  if (!vxlanIndex) return { routes, neighs: [], fdb: [] };
  const neighs = h
    .neighList({ family, ifindex: vxlanIndex })
    .filter((n) => n.dst && n.lladdr && (n.state ?? 0) & NUD.PERMANENT)
    .map((n) => ({ dst: n.dst as string, lladdr: n.lladdr as string }));
  const fdb = h
    .neighList({ family: "bridge", ifindex: vxlanIndex })
    .filter((n) => n.dst && n.lladdr && (n.state ?? 0) & NUD.PERMANENT)
    .map((n) => ({ lladdr: n.lladdr as string, dst: n.dst as string }));
  return { routes, neighs, fdb };
}

const ignoreMissing = (fn: () => void): void => {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
};

export function applyOverlay(h: NetlinkHandle, vxlanIndex: number, plan: OverlayPlan, family: 4 | 6 = 4): void {
  for (const r of plan.delRoutes) ignoreMissing(() => h.routeDel({ dst: r.dst, oif: r.oif, protocol: RTPROT_WEFT }));
  for (const n of plan.delNeighs) ignoreMissing(() => h.neighDel({ family, ifindex: vxlanIndex, dst: n.dst }));
  for (const f of plan.delFdb) ignoreMissing(() => h.neighDel({ family: "bridge", ifindex: vxlanIndex, lladdr: f.lladdr, dst: f.dst, flags: NTF_SELF }));
  for (const n of plan.addNeighs) h.neighReplace({ family, ifindex: vxlanIndex, dst: n.dst, lladdr: n.lladdr, state: NUD.PERMANENT });
  for (const f of plan.addFdb) h.neighReplace({ family: "bridge", ifindex: vxlanIndex, lladdr: f.lladdr, dst: f.dst, flags: NTF_SELF, state: NUD.PERMANENT });
  for (const r of plan.addRoutes) h.routeReplace({ dst: r.dst, gateway: r.gateway, oif: r.oif, onlink: r.onlink, protocol: RTPROT_WEFT });
}
