// weftd's per-resync check of its NAT/FORWARD rules beside kube-proxy-like rules for 0, 500 and 2,000
// Services (BENCH_SERVICES), against dumping the whole ruleset with iptables-save (what the check did
// before it read its own four chains), same namespaces, same run.
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import * as esbuild from "esbuild";
import { ms, Namespaces, percentile, ratio, ROOT, RUNTIME_PATH, withCleanup } from "./lib.mjs";

const SIZES = (process.env.BENCH_SERVICES ?? "0,500,2000").split(",").map(Number);
const RUNS = 20;

/** One iptables-save of the namespace: wall time and the size of what it printed. */
function dump(netns) {
  const t = process.hrtime.bigint();
  const r = spawnSync("ip", ["netns", "exec", netns, "iptables-save"], { env: { PATH: RUNTIME_PATH }, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`iptables-save failed (${r.status ?? r.error}): ${String(r.stderr).slice(0, 300)}`);
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, bytes: r.stdout.length };
}

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
    const worker = join(ROOT, "dist", "bench", "nat-check-worker.mjs");
    await esbuild.build({ entryPoints: [join(ROOT, "bench", "nat-check-worker.ts")], outfile: worker, bundle: true, platform: "node", format: "esm", logLevel: "error" });
    console.log(`nat check: weftd's resync check of its rules (in place, nothing written), p50 of ${RUNS}, against iptables-save of the same ruleset`);
    for (const services of SIZES) {
      const name = ns.create(String(services));
      execFileSync("ip", ["netns", "exec", name, "iptables-restore"], { input: kubeProxyRules(services) });
      const check = JSON.parse(execFileSync("ip", ["netns", "exec", name, process.execPath, worker, String(RUNS)], { encoding: "utf8", env: { PATH: RUNTIME_PATH } }));
      const dumps = Array.from({ length: RUNS }, () => dump(name));
      const dumpMs = percentile(dumps.map((d) => d.ms), 50);
      const checkMs = percentile(check.wall, 50);
      console.log(`  ${String(services).padStart(5)} Services (${(dumps[0].bytes / 1e6).toFixed(2)} MB of iptables-save): check ${ms(checkMs)} (CPU with its children ${ms(check.cpuMsPerCheck)}), iptables-save alone ${ms(dumpMs)}: ${ratio(checkMs, dumpMs)}`);
    }
  },
);
