// STATUS (CNI 1.1): ready when weftd has written subnet.env and the bridge name is usable.
import { openHandle } from "../netlink/index.js";
import type { WeftConfig } from "./config.js";
import { CNI_ERROR, CniError } from "./errors.js";
import { readNodeSubnet } from "./node-subnet.js";

export function cmdStatus(conf: WeftConfig): void {
  try {
    readNodeSubnet(conf.subnetFile);
  } catch (err) {
    throw new CniError(CNI_ERROR.NOT_AVAILABLE, `weft is not ready: ${(err as Error).message}`);
  }
  const host = openHandle();
  try {
    const bridge = host.linkFind(conf.bridge);
    if (bridge && bridge.kind !== "bridge") throw new CniError(CNI_ERROR.NOT_AVAILABLE, `weft is not ready: interface "${conf.bridge}" exists but is not a bridge`);
  } finally {
    host.close();
  }
}
