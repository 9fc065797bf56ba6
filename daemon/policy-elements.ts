// Set element changes of table inet weft-policy written over netlink in one nf_tables transaction, as
// the CNI plugin writes its anti-spoofing elements (netlink/nft-sets.ts): a label change's few elements
// cost a socket and one datagram instead of an `nft` process (~24 ms for the process alone). The same
// changes as nft text are the fallback, and what the bench compares with.
import { concatKey, openNftSets, type KeyField, type NftElementsChange } from "../netlink/index.js";
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

/** One transaction over NETLINK_NETFILTER in this namespace (or `netnsPath`'s): all of it is written, or none. */
export function writeElementsOverNetlink(changes: ElementChange[], netnsPath?: string): void {
  const requests = netlinkChanges(changes); // a bad element fails here, before a socket is opened
  if (requests.length === 0) return;
  const sets = openNftSets(netnsPath);
  try {
    sets.changeElements(requests);
  } finally {
    sets.close();
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
