// Benchmark body run by bench/netlink.mjs (bundled on the fly): create then delete N veth pairs in the
// given namespace through the netlink library, timing each operation.
import { openHandle } from "../netlink/index.js";

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
process.stdout.write(JSON.stringify({ add, del }));
