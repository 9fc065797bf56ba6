// Where the lab finds itself and the built binaries, and how every pod is attached.
import { dirname, join, resolve } from "node:path";
import type { Conflist } from "./cni-runtime.js";
import type { LabNode } from "./state.js";

/** The lab bundle itself (dist/lab/weft-lab.cjs) and the repository around it. */
export const SELF = resolve(process.argv[1] ?? "");
export const REPO = resolve(dirname(SELF), "..", "..");
export const BIN = join(REPO, "dist", "bin");
export const CNI_PATH = `${BIN}:/usr/lib/cni`;

/**
 * The lab's network name and records' dir differ from weftd's defaults on purpose: weftd is told
 * neither, only the conf dir, and finds them in the conflist as it must on a real node.
 */
export const LAB_NETWORK = "weft-lab";
/** The node's CNI conf dir (as /etc/cni/net.d on a real node): its conflist, written at node creation. */
export const confDir = (node: LabNode): string => join(node.dir, "net.d");

/** The node's conflist: weft, then the reference portmap for hostPorts (so cniVersion 1.0.0). */
export function conflist(node: LabNode, ipMasq: boolean): Conflist {
  return {
    cniVersion: "1.0.0",
    name: LAB_NETWORK,
    plugins: [
      { type: "weft", subnetFile: join(node.dir, "subnet.env"), dataDir: join(node.dir, "cni"), bridge: "cni0", hairpinMode: true, isDefaultGateway: true, logFile: join(node.dir, "weft-cni.log") },
      { type: "portmap", capabilities: { portMappings: true }, snat: ipMasq },
    ],
  };
}
