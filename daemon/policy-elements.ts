// Set element changes of table inet weft-policy written over netlink in one nf_tables transaction, as
// the CNI plugin writes its anti-spoofing elements (netlink/nft-sets.ts): a label change's few elements
// cost one datagram on a socket weftd keeps, instead of an `nft` process (~24 ms for the process
// alone). The same changes as nft text are the fallback, and what the bench compares with.
import { concatKey, openNftSets, type KeyField, type NftElementsChange, type NftSetHandle } from "../netlink/index.js";
import { POLICY_TABLE } from "./policy/nft-ruleset.js";
import type { ElementChange } from "./policy/pod-delta.js";

/** The protocols compile-sets writes into named-port elements (`10.244.1.5 . tcp . 8080`), by number. */
const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };

export class ElementKeyError extends Error {
  readonly code = "EBADELEMENT";
  constructor(
    readonly element: string,
    readonly type: string,
    reason: string,
  ) {
    super(`set element "${element}" of type ${type}: ${reason}`);
  }
}

function field(type: string, text: string, element: string, setType: string): KeyField {
  switch (type) {
    case "ipv4_addr":
      return { ipv4: text };
    case "ipv6_addr":
      return { ipv6: text };
    case "inet_proto": {
      const n = PROTOCOL_NUMBERS[text] ?? (/^\d+$/.test(text) ? Number(text) : undefined);
      if (n === undefined) throw new ElementKeyError(element, setType, `protocol "${text}" is not known`);
      return { inetProto: n };
    }
    case "inet_service":
      if (!/^\d+$/.test(text)) throw new ElementKeyError(element, setType, `port "${text}" is not a number`);
      return { inetService: Number(text) };
    default:
      throw new ElementKeyError(element, setType, `field type ${type} is not one the policy table's sets use`);
  }
}

/** An element as nft writes it ("10.244.1.5", "fd00::5 . tcp . 8080") laid out as the kernel keys the set's type. */
export function elementKey(setType: string, element: string): Buffer {
  const types = setType.split(" . ");
  const parts = element.split(" . ");
  if (types.length !== parts.length) throw new ElementKeyError(element, setType, `${parts.length} fields for a key of ${types.length}`);
  return concatKey(types.map((t, i) => field(t.trim(), parts[i]!.trim(), element, setType)));
}

/** The changes as netlink requests, deletions first; empty ones left out. */
export function netlinkChanges(changes: ElementChange[]): NftElementsChange[] {
  const ref = (set: string) => ({ family: "INET", table: POLICY_TABLE, set }) as const;
  return changes
    .flatMap((c): NftElementsChange[] => [
      { op: "delete", ...ref(c.set), keys: c.remove.map((e) => elementKey(c.type, e)) },
      { op: "add", ...ref(c.set), keys: c.add.map((e) => elementKey(c.type, e)) },
    ])
    .filter((c) => c.keys.length > 0);
}

/** What PolicyTable writes set elements with. */
export interface ElementWriter {
  /** One transaction: all of it is written, or none (then it throws). */
  write(changes: ElementChange[]): void;
  close(): void;
}

/**
 * Over one NETLINK_NETFILTER socket in this namespace (or `netnsPath`'s), kept open: closing a socket
 * right after a transaction that deleted elements waits for nf_tables' deferred release of them (an RCU
 * grace period: 13 ms measured on a loaded 2-core node, against 0.1 ms for the deletion itself).
 */
export class NetlinkElementWriter implements ElementWriter {
  private sets: NftSetHandle | undefined;

  constructor(private readonly netnsPath?: string) {}

  write(changes: ElementChange[]): void {
    const requests = netlinkChanges(changes); // a bad element fails here, before a socket is opened
    if (requests.length === 0) return;
    this.sets ??= openNftSets(this.netnsPath);
    try {
      this.sets.changeElements(requests);
    } catch (err) {
      this.close(); // the kernel's other answers to the batch may still be queued on it: a new socket next time
      throw err;
    }
  }

  close(): void {
    this.sets?.close();
    this.sets = undefined;
  }
}

/** The same changes as an nft script (one transaction too), as diffRulesets writes element changes. */
export function elementsScript(changes: ElementChange[]): string {
  const out: string[] = [];
  for (const c of changes) {
    if (c.remove.length) out.push(`delete element inet ${POLICY_TABLE} ${c.set} { ${c.remove.join(", ")} }`);
    if (c.add.length) out.push(`add element inet ${POLICY_TABLE} ${c.set} { ${c.add.join(", ")} }`);
  }
  return out.length ? out.join("\n") + "\n" : "";
}

/** How many elements the changes move. */
export const elementCount = (changes: ElementChange[]): number => changes.reduce((n, c) => n + c.add.length + c.remove.length, 0);
