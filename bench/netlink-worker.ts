// Benchmark body run by bench/netlink.mjs (bundled on the fly): create then delete N veth pairs in the
// given namespace through the netlink library, timing each operation; then add and delete N elements of
// the anti-spoofing set as the plugin does (a socket, one nf_tables batch, close).
import { concatKey, openHandle, openNftSets } from "../netlink/index.js";

const [nsPath, countText] = process.argv.slice(2);
const count = Number(countText ?? 100);
const h = openHandle(nsPath);
const add: number[] = [];
const del: number[] = [];
for (let i = 0; i < count; i++) {
  const t = process.hrtime.bigint();
  h.linkAddVeth(`bv${i}`, `bp${i}`);
  add.push(Number(process.hrtime.bigint() - t) / 1e6);
}
for (let i = 0; i < count; i++) {
  const t = process.hrtime.bigint();
  h.linkDelete(`bv${i}`);
  del.push(Number(process.hrtime.bigint() - t) / 1e6);
}
h.close();

const ref = { family: "BRIDGE", table: "weft", set: "pod-addresses" } as const;
const hex = (n: number): string => n.toString(16).padStart(2, "0");
const key = (i: number): Buffer => concatKey([{ ifname: `weft${i.toString(16).padStart(8, "0")}` }, { etherAddr: `0a:58:0a:f4:${hex((i >> 8) & 255)}:${hex(i & 255)}` }, { ipv4: `10.244.${(i >> 8) & 255}.${i & 255}` }]);
const timedBatch = (fn: (sets: ReturnType<typeof openNftSets>) => void): number => {
  const t = process.hrtime.bigint();
  const sets = openNftSets(nsPath);
  fn(sets);
  sets.close();
  return Number(process.hrtime.bigint() - t) / 1e6;
};
const elemAdd = Array.from({ length: count }, (_, i) => timedBatch((s) => s.addElements(ref, [key(i)])));
const elemDel = Array.from({ length: count }, (_, i) => timedBatch((s) => s.deleteElements(ref, [key(i)])));
process.stdout.write(JSON.stringify({ add, del, elemAdd, elemDel }));
