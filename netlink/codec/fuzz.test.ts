// Property tests: whatever bytes arrive, the decoders either return a value or throw a typed netlink
// parse error; encoded requests decode back to what was asked for.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseAddr } from "./address.js";
import { AddressFormatError } from "./addresses.js";
import { AttributeParseError } from "./attributes.js";
import { buildNewLink, parseLink } from "./link.js";
import { MessageParseError, parseErrorReply, parseMessages } from "./message.js";
import { buildNeigh, parseNeigh } from "./neighbour.js";
import { buildRoute, parseRoute } from "./route.js";

const typed = (err: unknown): boolean => err instanceof AttributeParseError || err instanceof MessageParseError || err instanceof AddressFormatError;

function decodesOrTypedError(decode: (b: Buffer) => unknown): (bytes: Uint8Array) => void {
  return (bytes) => {
    try {
      decode(Buffer.from(bytes));
    } catch (err) {
      if (!typed(err)) throw err;
    }
  };
}

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((t) => t.join("."));
const mac = fc.array(fc.nat(255), { minLength: 6, maxLength: 6 }).map((b) => b.map((x) => x.toString(16).padStart(2, "0")).join(":"));

describe("decoders on arbitrary bytes", () => {
  const bytes = fc.uint8Array({ maxLength: 256 });
  it.each([
    ["messages", (b: Buffer) => parseMessages(b)],
    ["error reply", (b: Buffer) => parseErrorReply({ type: 2, flags: 0x300, seq: 1, pid: 0, payload: b })],
    ["link", parseLink],
    ["address", parseAddr],
    ["route", parseRoute],
    ["neighbour", parseNeigh],
  ])("%s: a value or a typed error, never a crash", (_name, decode) => {
    fc.assert(fc.property(bytes, decodesOrTypedError(decode)), { numRuns: 2000 });
  });

  it("truncating a real message anywhere gives a typed error or a shorter valid parse", () => {
    const body = buildNewLink({ name: "weft.1", kind: "vxlan", vxlan: { vni: 7, local: "192.168.56.11", port: 8472, learning: false }, mtu: 1450 }).body;
    fc.assert(fc.property(fc.nat(body.length), (cut) => decodesOrTypedError(parseLink)(body.subarray(0, cut))), { numRuns: 500 });
  });
});

describe("round trips", () => {
  it("routes decode to what was encoded", () => {
    fc.assert(
      fc.property(ipv4, fc.integer({ min: 0, max: 32 }), ipv4, fc.integer({ min: 1, max: 10_000 }), fc.boolean(), fc.integer({ min: 576, max: 9000 }), (dst, len, gw, oif, onlink, mtu) => {
        const r = parseRoute(buildRoute("replace", { dst: `${dst}/${len}`, gateway: gw, oif, onlink, mtu }).body);
        expect(r).toMatchObject({ gateway: gw, oif, mtu, family: 4 });
        expect(r.onlink === true).toBe(onlink);
        expect(r.dst?.endsWith(`/${len}`) || len === 0).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("neighbours and FDB entries decode to what was encoded", () => {
    fc.assert(
      fc.property(ipv4, mac, fc.integer({ min: 1, max: 10_000 }), fc.boolean(), (dst, lladdr, ifindex, fdb) => {
        const n = parseNeigh(buildNeigh("replace", { family: fdb ? "bridge" : 4, ifindex, dst, lladdr, flags: fdb ? 2 : 0 }).body);
        expect(n).toMatchObject({ family: fdb ? "bridge" : 4, ifindex, dst, lladdr, state: 0x80 });
      }),
      { numRuns: 300 },
    );
  });
});
