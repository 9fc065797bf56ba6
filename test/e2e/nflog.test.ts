// The NFLOG reader against the kernel, in a throwaway namespace: a `log group` rule's packets arrive
// with their prefix and headers; the drop after the log rule happens whether or not a reader is bound;
// a second reader of the same group is refused by name; closing releases the group.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inNetns, NflogReader, parsePacketHeaders, type NflogPacket } from "../../netlink/index.js";
import { NetnsPool, netnsPath, run } from "../helpers/netns.js";

const GROUP = 4242;
const pool = new NetnsPool("nflog");
let ns = "";

const open = (): NflogReader => inNetns(netnsPath(ns), () => NflogReader.open(GROUP));
/** One UDP datagram to 127.0.0.1:port from inside the namespace (a local drop fails the write with EPERM: expected). */
const sendUdp = (port: number): void => void run("ip", ["netns", "exec", ns, "bash", "-c", `echo hi > /dev/udp/127.0.0.1/${port} 2>/dev/null || true`]);
const dropped = (): number => {
  const out = JSON.parse(run("ip", ["netns", "exec", ns, "nft", "-j", "list", "chain", "inet", "nflogtest", "out"])) as { nftables: { rule?: { expr: { counter?: { packets: number } }[] } }[] };
  return out.nftables.flatMap((i) => i.rule?.expr ?? []).find((e) => e.counter)?.counter?.packets ?? -1;
};
async function drainFor(reader: NflogReader, want: number, ms = 2_000): Promise<NflogPacket[]> {
  const got: NflogPacket[] = [];
  const deadline = Date.now() + ms;
  while (got.length < want && Date.now() < deadline) {
    got.push(...reader.drain().packets);
    await new Promise((r) => setTimeout(r, 50));
  }
  return got;
}

beforeAll(() => {
  ns = pool.create();
  const rules = `table inet nflogtest {\n chain out {\n  type filter hook output priority filter; policy accept;\n  udp dport 9999 log prefix "weft:test" group ${GROUP}\n  udp dport 9999 counter drop\n }\n}\n`;
  run("ip", ["netns", "exec", ns, "nft", "-f", "-"], rules);
});
afterAll(() => pool.cleanup());

describe("NflogReader in a namespace", () => {
  it("receives the logged packet with its prefix, and the headers parse to the datagram sent", async () => {
    const reader = open();
    try {
      sendUdp(9999);
      sendUdp(9998); // not logged
      const [p, ...rest] = await drainFor(reader, 1);
      expect(rest).toEqual([]);
      expect(p).toMatchObject({ group: GROUP, family: 2, prefix: "weft:test", hook: 3 }); // NF_INET_LOCAL_OUT
      expect(parsePacketHeaders(p!.payload)).toMatchObject({ family: 4, src: "127.0.0.1", dst: "127.0.0.1", protocol: "UDP", dstPort: 9999 });
      expect(p!.payload.length).toBeLessThanOrEqual(96); // the copy range
      expect(dropped()).toBe(1);
    } finally {
      reader.close();
    }
  });

  it("the drop after the log rule happens with no reader bound", () => {
    const before = dropped();
    sendUdp(9999);
    expect(dropped()).toBe(before + 1);
  });

  it("refuses a second reader of the group by name; a closed reader releases it", () => {
    const first = open();
    try {
      expect(() => open()).toThrow(/NFLOG group 4242/);
    } finally {
      first.close();
    }
    open().close();
  });
});
