// weftd's per-resync check of its NAT/FORWARD rules beside kube-proxy-like rules for 0, 500 and 2,000
// Services (BENCH_SERVICES), against iptables-save alone of the same ruleset, run by the same process
// in the same namespace, same run: how the check's cost follows the node's other rules.
import { execFileSync } from "node:child_process";
import { bundleWorker, ms, Namespaces, percentile, ratio, RUNTIME_PATH, withCleanup } from "./lib.mjs";

const SIZES = (process.env.BENCH_SERVICES ?? "0,500,2000").split(",").map(Number);
const RUNS = 20;

/** kube-proxy's shape per Service: a ClusterIP rule, 3 endpoints each with a probability rule, a mark rule and a DNAT. */
function kubeProxyRules(services) {
  const chains = [":KUBE-SERVICES - [0:0]"];
  const rules = ["-A PREROUTING -j KUBE-SERVICES", "-A OUTPUT -j KUBE-SERVICES"];
  for (let i = 0; i < services; i++) {
    const [a, b] = [i >> 8, i & 255];
    chains.push(`:KUBE-SVC-${i} - [0:0]`);
    rules.push(`-A KUBE-SERVICES -d 10.96.${a}.${b}/32 -p tcp -m comment --comment "ns/svc${i}:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-${i}`);
    for (let j = 0; j < 3; j++) {
      chains.push(`:KUBE-SEP-${i}-${j} - [0:0]`);
      rules.push(
        `-A KUBE-SVC-${i} -m comment --comment "ns/svc${i}:http" -m statistic --mode random --probability 0.33333 -j KUBE-SEP-${i}-${j}`,
        `-A KUBE-SEP-${i}-${j} -s 10.244.${j}.${b}/32 -m comment --comment "ns/svc${i}:http" -j MARK --set-xmark 0x4000/0x4000`,
        `-A KUBE-SEP-${i}-${j} -p tcp -m comment --comment "ns/svc${i}:http" -m tcp -j DNAT --to-destination 10.244.${j}.${b}:8080`,
      );
    }
  }
  return ["*nat", ...chains, ...rules, "COMMIT", ""].join("\n");
}

const ns = new Namespaces("nat");
await withCleanup(
  () => ns.cleanup(),
  async () => {
    const worker = await bundleWorker("nat-check-worker", ["koffi"]);
    console.log(`nat check: weftd's resync check of its rules (in place, nothing written), p50 of ${RUNS}, against iptables-save alone of the same ruleset`);
    for (const services of SIZES) {
      const name = ns.create(String(services));
      execFileSync("ip", ["netns", "exec", name, "iptables-restore"], { input: kubeProxyRules(services) });
      const check = JSON.parse(execFileSync("ip", ["netns", "exec", name, process.execPath, worker, String(RUNS)], { encoding: "utf8", env: { PATH: RUNTIME_PATH } }));
      const dumpMs = percentile(check.dumpWall, 50);
      const checkMs = percentile(check.wall, 50);
      console.log(`  ${String(services).padStart(5)} Services (${(check.dumpBytes / 1e6).toFixed(2)} MB of iptables-save): check ${ms(checkMs)} (CPU with its children ${ms(check.cpuMsPerCheck)}), iptables-save alone ${ms(dumpMs)}: ${ratio(checkMs, dumpMs)}; while nothing changed (the keeper's generation read) ${ms(percentile(check.unchanged, 50))}`);
    }
  },
);
