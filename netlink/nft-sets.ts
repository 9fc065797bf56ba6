// nf_tables set elements in one network namespace, through NETLINK_NETFILTER: how the CNI plugin
// keeps a pod's entry in weftd's anti-spoofing set without starting `nft` on the hot path; and the
// ruleset generation and named counters, which weftd reads at every resync the same way.
import {
  buildGetCounter,
  buildGetGen,
  buildGetSet,
  buildGetSetElement,
  buildSetElementsBatch,
  buildSetElementsTransaction,
  NETLINK_NETFILTER,
  parseCounterPackets,
  parseGenId,
  type ObjectRef,
  type SetElementsChange,
  type SetRef,
} from "./codec/nftables.js";
import { NotFoundError } from "./errors.js";
import { inNetns } from "./netns.js";
import { NetlinkSocket } from "./socket.js";

export type NftSetRef = SetRef;
export type NftElementsChange = SetElementsChange;

export interface NftSetHandle {
  /** Adds the elements (already there is fine). Throws NotFoundError when the table or set does not exist. */
  addElements(ref: NftSetRef, keys: Buffer[]): void;
  /** Deletes the elements. Throws NotFoundError when one of them, the table or the set does not exist. */
  deleteElements(ref: NftSetRef, keys: Buffer[]): void;
  /**
   * Adds and deletes elements of several sets in one transaction: all of it is committed, or none
   * (a missing element to delete, a missing set: NotFoundError, and the sets are as they were).
   */
  changeElements(changes: NftElementsChange[]): void;
  /** Whether the set holds an element with this key. Throws NotFoundError when the set does not exist. */
  hasElement(ref: NftSetRef, key: Buffer): boolean;
  close(): void;
}

const describe = (ref: NftSetRef): string => `nftables set ${ref.family.toLowerCase()} ${ref.table} ${ref.set}`;

const openNetfilter = (netnsPath?: string): NetlinkSocket =>
  netnsPath ? inNetns(netnsPath, () => NetlinkSocket.open(NETLINK_NETFILTER)) : NetlinkSocket.open(NETLINK_NETFILTER);

export function openNftSets(netnsPath?: string): NftSetHandle {
  const sock = openNetfilter(netnsPath);
  const change = (op: "add" | "delete", ref: NftSetRef, keys: Buffer[]): void =>
    sock.transaction(buildSetElementsBatch({ op, ...ref, keys }), op === "add" ? "add elements to" : "delete elements from", describe(ref));
  return {
    addElements: (ref, keys) => change("add", ref, keys),
    deleteElements: (ref, keys) => change("delete", ref, keys),
    changeElements: (changes) => {
      const sets = [...new Set(changes.map((c) => `${c.family.toLowerCase()} ${c.table} ${c.set}`))];
      sock.transaction(buildSetElementsTransaction(changes), "change elements of", `nftables sets ${sets.slice(0, 4).join(", ")}${sets.length > 4 ? ` and ${sets.length - 4} more` : ""}`);
    },
    hasElement: (ref, key) => {
      sock.request(buildGetSet(ref), "get", describe(ref)); // NotFound here is the set's, not the element's
      try {
        sock.request(buildGetSetElement(ref, key), "get an element of", describe(ref));
        return true;
      } catch (err) {
        if (err instanceof NotFoundError) return false;
        throw err;
      }
    },
    close: () => sock.close(),
  };
}

/**
 * The nf_tables ruleset generation of this namespace (or of `netnsPath`'s): equal across two reads only
 * if no nf_tables transaction, iptables-nft's included, was committed between them.
 */
export function nftGeneration(netnsPath?: string): number {
  const sock = openNetfilter(netnsPath);
  try {
    for (const msg of sock.request(buildGetGen(), "get", "the nf_tables ruleset generation")) {
      const id = parseGenId(msg);
      if (id !== undefined) return id;
    }
    throw new Error("netlink: the kernel answered the nf_tables generation request without a generation");
  } finally {
    sock.close();
  }
}

export type NftCounterRef = ObjectRef;

/** The packets each named counter counted. Throws NotFoundError when a counter or its table does not exist. */
export function nftCounterPackets(refs: NftCounterRef[], netnsPath?: string): number[] {
  const sock = openNetfilter(netnsPath);
  try {
    return refs.map((ref) => {
      const what = `nftables counter ${ref.family.toLowerCase()} ${ref.table} ${ref.name}`;
      for (const msg of sock.request(buildGetCounter(ref), "get", what)) {
        const packets = parseCounterPackets(msg);
        if (packets !== undefined) return packets;
      }
      throw new Error(`netlink: the kernel answered for ${what} without its packets`);
    });
  } finally {
    sock.close();
  }
}
