// The lease table as the operator sees it: `ipamctl leases -o json`, run where etcd is reachable.
import { join } from "node:path";
import { BIN } from "../cluster/paths.js";
import type { Lease } from "./report.js";
import { sh } from "../cluster/sh.js";
import type { LabState } from "../cluster/state.js";

export function readLeases(state: LabState): Lease[] {
  if (!state.etcd) return [];
  const out = sh("nsenter", [`--net=/var/run/netns/${state.etcd.netns}`, join(BIN, "ipamctl"), "leases", "-o", "json", "--etcd-endpoints", state.etcd.endpoint]);
  return JSON.parse(out) as Lease[];
}
