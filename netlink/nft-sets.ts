// nf_tables set elements in one network namespace, through NETLINK_NETFILTER: how the CNI plugin
// keeps a pod's entry in weftd's anti-spoofing set without starting `nft` on the hot path.
import { buildSetElementsBatch, NETLINK_NETFILTER, type NftFamily } from "./codec/nftables.js";
import { inNetns } from "./netns.js";
import { NetlinkSocket } from "./socket.js";

export interface NftSetRef {
  family: NftFamily;
  table: string;
  set: string;
}

export interface NftSetHandle {
  /** Adds the elements (already there is fine). Throws NotFoundError when the table or set does not exist. */
  addElements(ref: NftSetRef, keys: Buffer[]): void;
  /** Deletes the elements. Throws NotFoundError when one of them, the table or the set does not exist. */
  deleteElements(ref: NftSetRef, keys: Buffer[]): void;
  close(): void;
}

const describe = (ref: NftSetRef): string => `nftables set ${ref.family.toLowerCase()} ${ref.table} ${ref.set}`;

export function openNftSets(netnsPath?: string): NftSetHandle {
  const sock = netnsPath ? inNetns(netnsPath, () => NetlinkSocket.open(NETLINK_NETFILTER)) : NetlinkSocket.open(NETLINK_NETFILTER);
  const change = (op: "add" | "delete", ref: NftSetRef, keys: Buffer[]): void =>
    sock.transaction(buildSetElementsBatch({ op, ...ref, keys }), op === "add" ? "add elements to" : "delete elements from", describe(ref));
  return {
    addElements: (ref, keys) => change("add", ref, keys),
    deleteElements: (ref, keys) => change("delete", ref, keys),
    close: () => sock.close(),
  };
}
