// Runs inside the bench's namespace, beside etcd: writes simulated nodes' leases in flannel's format.
//   fill ENDPOINT PREFIX COUNT            puts COUNT leases (subnets 10.128.0.0/9 from the top), 64 at a time
//   churn ENDPOINT PREFIX COUNT RATE SEC  adds a new lease and deletes an old one alternately, RATE changes/s
// Prints one JSON line per change with the wall-clock time it was sent (performance.timeOrigin based).
import { Etcd3 } from "etcd3";

const [mode, endpoint, prefix, countArg, rateArg, secondsArg] = process.argv.slice(2);
const client = new Etcd3({ hosts: [endpoint] });
const count = Number(countArg);
const now = () => performance.timeOrigin + performance.now();
// Node k: subnet 10.(128 + k>>8).(k&255).0/24, public IP 10.200.(k>>8).(k&255)+1 on the bench's underlay.
const subnet = (k) => `10.${128 + (k >> 8)}.${k & 255}.0/24`;
const key = (k) => `${prefix}/subnets/${subnet(k).replace("/", "-")}`;
const value = (k) => {
  const ip = `10.200.${1 + (k >> 8)}.${k & 255}`;
  const mac = `02:01:0a:c8:${(1 + (k >> 8)).toString(16).padStart(2, "0")}:${(k & 255).toString(16).padStart(2, "0")}`;
  return JSON.stringify({ PublicIP: ip, BackendType: "vxlan", BackendData: { VNI: 1, VtepMAC: mac } });
};

if (mode === "fill") {
  for (let k = 1; k <= count; k += 64) {
    await Promise.all(Array.from({ length: Math.min(64, count - k + 1) }, (_, i) => client.put(key(k + i)).value(value(k + i))));
  }
  console.log(JSON.stringify({ filled: count, at: now() }));
} else if (mode === "churn") {
  const rate = Number(rateArg);
  const seconds = Number(secondsArg);
  let next = count + 1; // new nodes join above the filled range
  let oldest = 1; // and the oldest leave
  const start = now();
  for (let i = 0; now() - start < seconds * 1000; i++) {
    const due = start + (i * 1000) / rate;
    if (due > now()) await new Promise((r) => setTimeout(r, due - now()));
    if (i % 2 === 0) {
      const k = next++;
      const at = now();
      await client.put(key(k)).value(value(k));
      console.log(JSON.stringify({ op: "add", subnet: subnet(k), at }));
    } else {
      const k = oldest++;
      const at = now();
      await client.delete().key(key(k));
      console.log(JSON.stringify({ op: "del", subnet: subnet(k), at }));
    }
  }
}
client.close();
