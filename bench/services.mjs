// Services: weft-proxy's rule sync at 1,000 and 10,000 Services × 10 endpoints (iptables vs nftables,
// full sync and one endpoint changed), each in a throwaway namespace; and request latency through a
// ClusterIP versus the pod IP directly on a one-node lab (new TCP connection per request).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleWorker, ms, Namespaces, percentile, ROOT, withCleanup } from "./lib.mjs";

const worker = await bundleWorker("services-worker");

console.log("rule sync (one namespace per run; 10 endpoints per service; NodePorts on the first 2,768):");
const rows = [];
for (const n of [1000, 10000]) {
  for (const mode of ["iptables", "iptables-legacy", "nftables"]) {
    if (mode === "iptables" && n > 1000) {
      // iptables-nft-restore of ~50 MB of rules ran for over 4 minutes here before it was stopped.
      console.log(`  ${mode.padEnd(15)} ${String(n).padStart(6)} services: skipped (iptables-nft-restore needs minutes for a table this size; see iptables-legacy)`);
      continue;
    }
    const nss = new Namespaces("svc");
    await withCleanup(
      () => nss.cleanup(),
      async () => {
        const ns = nss.create(mode.slice(0, 5));
        // IPv6 at 1,000 services beside IPv4: the same layout in ip6tables and table ip6 kube-proxy.
        for (const family of n === 1000 ? ["IPv4", "IPv6"] : ["IPv4"]) {
          const r = JSON.parse(execFileSync("ip", ["netns", "exec", ns, process.execPath, worker, mode, String(n), family], { encoding: "utf8", maxBuffer: 64 << 20 }));
          rows.push(r);
          const v4 = rows.find((x) => x.mode === mode && x.services === n && x.family === "IPv4");
          const vs = family === "IPv6" ? `   (IPv6/IPv4: full ${(r.full / v4.full).toFixed(2)}×, change ${(r.change / v4.change).toFixed(2)}×)` : "";
          console.log(`  ${mode.padEnd(15)} ${family} ${String(n).padStart(6)} services: full sync ${ms(r.full)} (${(r.fullBytes / 1e6).toFixed(1)} MB of rules), one endpoint changed ${ms(r.change)} median of 7 (first ${ms(r.firstChange)}; ${r.changeBytes} bytes)${vs}`);
        }
      },
    );
  }
}

// Latency: a one-node lab, one endpoint pod, a client pod; 1,000 connections each way, interleaved.
const LAB = join(ROOT, "dist", "lab", "weft-lab.cjs");
const stateDir = mkdtempSync(join(tmpdir(), "weft-bench-svc-"));
const env = { ...process.env, WEFT_LAB_STATE_DIR: stateDir, WEFT_LAB_PREFIX: `wbs${process.pid % 1000}-` };
const lab = (...args) => {
  const r = spawnSync(process.execPath, [LAB, ...args], { env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`weft-lab ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
await withCleanup(
  () => {
    spawnSync(process.execPath, [LAB, "down"], { env });
    rmSync(stateDir, { recursive: true, force: true });
  },
  async () => {
    lab("up", "--nodes", "1", "--pods-per-node", "0");
    lab("apply", "-f", join(ROOT, "test", "fixtures", "services", "bench.yaml"));
    for (let i = 0; i < 100; i++) {
      const ep = JSON.parse(lab("get", "ep", "-o", "json")).items.find((e) => e.metadata.name === "echo");
      if (ep?.subsets?.[0]?.addresses?.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const podIp = JSON.parse(lab("get", "pods", "-o", "json")).items.find((p) => p.metadata.name === "echo").status.podIP;
    const clusterIp = JSON.parse(lab("get", "svc", "-o", "json")).items.find((s) => s.metadata.name === "echo").spec.clusterIP;
    const probe = `const net=require("node:net");const [a,b]=process.argv.slice(1);const r={pod:[],svc:[]};
      const once=(h,p)=>new Promise((ok,no)=>{const t=process.hrtime.bigint();const s=net.connect({host:h,port:p},()=>s.write("GET /healthz HTTP/1.0\\r\\n\\r\\n"));s.once("data",()=>{r[h===a?"pod":"svc"].push(Number(process.hrtime.bigint()-t)/1e6);s.destroy();ok();});s.on("error",no);});
      (async()=>{for(let i=0;i<1100;i++){await once(a,8080);await once(b,80);}r.pod=r.pod.slice(100);r.svc=r.svc.slice(100);console.log(JSON.stringify(r));})();`;
    const netns = `${env.WEFT_LAB_PREFIX}client`;
    const out = JSON.parse(execFileSync("ip", ["netns", "exec", netns, process.execPath, "-e", probe, podIp, clusterIp], { encoding: "utf8", env: { PATH: process.env.PATH } }));
    const [p50p, p99p, p50s, p99s] = [percentile(out.pod, 50), percentile(out.pod, 99), percentile(out.svc, 50), percentile(out.svc, 99)];
    console.log(`\nrequest latency, new TCP connection + HTTP request per sample (1,000 each, interleaved):`);
    console.log(`  pod IP directly  p50 ${ms(p50p)}  p99 ${ms(p99p)}`);
    console.log(`  through ClusterIP p50 ${ms(p50s)}  p99 ${ms(p99s)}   → ClusterIP adds ${((p50s - p50p) * 1000).toFixed(0)} µs at p50 (target ≤ 50 µs)`);
  },
);
const small = rows.find((r) => r.mode === "iptables" && r.services === 1000 && r.family === "IPv4");
const big = rows.find((r) => r.mode === "nftables" && r.services === 10000);
console.log(`\ntargets: iptables one-endpoint change at 1,000 services ${ms(small.change)} (< 100 ms); nftables full sync at 10,000 ${ms(big.full)} (< 1,000 ms)`);
