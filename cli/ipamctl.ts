// ipamctl: the operator's view of weft's address management in etcd.
import { readFileSync } from "node:fs";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { describeBackend } from "../ipam/backend-config.js";
import { NetworkConfigError, NetworkConfigMissingError, parseNetworkConfig, rangeOf, subnetInNetwork, toFlannelConfigJson } from "../ipam/network-config.js";
import { leaseName, leasePart, subnetKey, type Lease } from "../ipam/subnet-manager.js";
import { findProblems, humanDuration, isLive, leaseRows, podRows, sameIpv6, table, usage, type ClusterView } from "./cluster-view.js";
import type { EtcdSession } from "./etcd-session.js";

const version = typeof __WEFT_VERSION__ === "string" ? __WEFT_VERSION__ : "dev";

class UsageError extends Error {}
class Refused extends Error {}

interface Ctx extends EtcdSession {
  json: boolean;
  view(): Promise<ClusterView>;
}

const print = (ctx: Ctx, json: unknown, text: string): void => console.log(ctx.json ? JSON.stringify(json, null, 2) : text);

async function main(): Promise<number> {
  let ctx: Ctx | undefined;
  let etcd: typeof import("./etcd-session.js") | undefined;
  let code = 0;
  type GlobalArgs = { "etcd-endpoints": string; "etcd-prefix": string; "etcd-cafile"?: string; "etcd-certfile"?: string; "etcd-keyfile"?: string; output: string; timeout: number };
  const withCtx =
    <A>(fn: (ctx: Ctx, args: A) => Promise<void>) =>
    async (raw: unknown) => {
      const args = raw as A & GlobalArgs;
      const endpoints = args["etcd-endpoints"].split(",").map((s) => s.trim()).filter(Boolean);
      const session = await import("./etcd-session.js");
      etcd = session;
      const s = session.openSession({ endpoints, prefix: args["etcd-prefix"], caFile: args["etcd-cafile"], certFile: args["etcd-certfile"], keyFile: args["etcd-keyfile"], timeoutS: args.timeout });
      ctx = { ...s, json: args.output === "json", view: () => session.loadView(s) };
      await fn(ctx, args);
    };

  const env = process.env;
  const cli = yargs(hideBin(process.argv))
    .scriptName("ipamctl")
    .usage("ipamctl: weft's subnet leases and pod addresses, as etcd holds them")
    .version(version)
    // Only these WEFT_* variables are read: yargs' .env("WEFT") would take every WEFT_* variable of the
    // shell as an option and, being strict, refuse to run when one is not (e.g. WEFT_CACHE_DIR).
    .options({
      "etcd-endpoints": { type: "string", default: env.WEFT_ETCD_ENDPOINTS ?? "http://127.0.0.1:2379", describe: "comma-separated etcd endpoints (env WEFT_ETCD_ENDPOINTS)" },
      "etcd-prefix": { type: "string", default: env.WEFT_ETCD_PREFIX ?? "/weft/network", describe: "(env WEFT_ETCD_PREFIX)" },
      "etcd-cafile": { type: "string", default: env.WEFT_ETCD_CAFILE, describe: "(env WEFT_ETCD_CAFILE)" },
      "etcd-certfile": { type: "string", default: env.WEFT_ETCD_CERTFILE, describe: "(env WEFT_ETCD_CERTFILE)" },
      "etcd-keyfile": { type: "string", default: env.WEFT_ETCD_KEYFILE, describe: "(env WEFT_ETCD_KEYFILE)" },
      output: { alias: "o", choices: ["table", "json"], default: "table" },
      timeout: { type: "number", default: 5, describe: "seconds to wait for etcd" },
    })
    .command("leases", "the subnet leases, sorted by subnet", {}, withCtx(async (c) => {
      const rows = leaseRows(await c.view());
      // An IPv6-only network's leases fill the main columns; a dual-stack one's IPv6 parts get their own.
      const v4 = rows.some((r) => r.subnet);
      const dual = v4 && rows.some((r) => r.ipv6);
      const first = (r: (typeof rows)[number]): string[] => (v4 ? [r.subnet ?? "-", ...(dual ? [r.ipv6?.subnet ?? "-", r.ipv6?.publicIp ?? "-"] : []), r.publicIp ?? "-", r.vtepMac ?? "-"] : [r.ipv6?.subnet ?? "-", r.ipv6?.publicIp ?? "-", r.ipv6?.vtepMac ?? "-"]);
      print(c, rows, table(["SUBNET", ...(dual ? ["IPV6 SUBNET", "PUBLIC IPV6"] : []), "PUBLIC IP", "VTEP MAC", "EXPIRES IN", "PODS"], rows.map((r) => [...first(r), humanDuration(r.expiresInS), r.pods])));
    }))
    .command("pods", "pod addresses across the cluster (a dual-stack pod's IPv6 address beside its IPv4 one)", (y) => y.options({ node: { type: "string" }, subnet: { type: "string", describe: "a node's subnet, IPv4 or IPv6" } }), withCtx(async (c, a: { node?: string; subnet?: string }) => {
      const pods = podRows(await c.view(), a);
      const dual = pods.some((p) => p.ipv6);
      print(c, pods, table(["IP", ...(dual ? ["IPV6"] : []), "NODE", "SUBNET", "POD", "CONTAINER", "IFNAME", "SINCE"], pods.map((p) => [p.ip, ...(dual ? [p.ipv6 ?? "-"] : []), p.node, p.subnet, p.podName ? `${p.podNamespace ?? "?"}/${p.podName}` : "-", p.containerId.slice(0, 12), p.ifname, p.allocatedAt])));
    }))
    .command("usage", "addresses used and free per subnet, and subnets left", {}, withCtx(async (c) => {
      const u = usage(await c.view());
      const v6 = u.ipv6 ? `; IPv6: ${u.ipv6.subnetsLeased} leased, ${u.ipv6.subnetsLeft} left` : "";
      print(c, u, `${table(["SUBNET", "NODE", "USED", "FREE"], u.subnets.map((s) => [s.subnet, s.publicIp, s.used, s.free]))}\n\ncluster: ${u.total.used} used, ${u.total.free} free in ${u.subnetsLeased} leased subnets; ${u.subnetsLeft} subnets left${v6}`);
    }))
    .command("check", "find inconsistencies; exits 1 when there are any", {}, withCtx(async (c) => {
      const problems = findProblems(await c.view());
      print(c, { problems }, problems.length ? problems.map((p) => `✗ ${p}`).join("\n") : "no problems found");
      if (problems.length) code = 1;
    }))
    .command(
      "release",
      "delete a subnet lease or a pod record",
      (y) => y.options({ subnet: { type: "string" }, ip: { type: "string" }, yes: { type: "boolean", default: false }, force: { type: "boolean", default: false } }),
      withCtx(async (c, a: { subnet?: string; ip?: string; yes: boolean; force: boolean }) => {
        if (!a.subnet === !a.ip) throw new UsageError("give exactly one of --subnet CIDR or --ip IP");
        if (!a.yes) throw new UsageError("release deletes state in etcd: add --yes to confirm");
        const view = await c.view();
        if (a.subnet) {
          const lease = view.leases.find((l) => l.lease?.ipv4?.subnet === a.subnet || l.lease?.ipv6?.subnet === a.subnet || l.key === subnetKey(a.subnet ?? ""));
          if (!lease) throw new Refused(`no lease for ${a.subnet}`);
          if (isLive(lease.ttl) && !a.force) throw new Refused(`lease ${a.subnet} is live (node ${(lease.lease?.ipv4 ?? lease.lease?.ipv6)?.publicIp} renewed it recently; ${humanDuration(lease.ttl?.remaining)} left): stop that node's weftd first, or add --force`);
          await c.client.delete().key(`${c.mgr.subnetsPrefix}${lease.key}`);
          print(c, { released: a.subnet }, `released lease ${a.subnet}`);
        } else {
          const pod = view.pods.find((p) => p.ip === a.ip || sameIpv6(p.ipv6, a.ip));
          if (!pod) throw new Refused(`no pod record for ${a.ip}`);
          await c.client.delete().key(`${c.mgr.prefix}/pods/${pod.subnet.includes(":") ? subnetKey(undefined, pod.subnet) : subnetKey(pod.subnet)}/${pod.ip}`);
          const both = pod.ipv6 ? ` and ${pod.ipv6}` : "";
          print(c, { released: a.ip }, `released pod record ${pod.ip}${both} (the node's weftd writes it again if the node still holds it)`);
        }
      }),
    )
    .command("config <action> [file]", "get, or set from a file (or - for stdin), the network config", { force: { type: "boolean", default: false } }, withCtx(async (c, a: { action: string; file?: string; force: boolean }) => {
      if (a.action !== "get" && a.action !== "set") throw new UsageError(`config ${a.action}: use "config get" or "config set FILE"`);
      if (a.action === "get") {
        const text = await c.client.get(c.mgr.configKey).string();
        if (text === null) throw new NetworkConfigMissingError(`${c.mgr.configKey} is not set`);
        print(c, JSON.parse(text), JSON.stringify(JSON.parse(text), null, 2));
        return;
      }
      if (!a.file) throw new UsageError("config set needs a file (or - for stdin)");
      // yargs reads a lone "-" as a flag with no name: both mean stdin.
      const fromStdin = a.file === "-" || (a.file as unknown) === true;
      const cfg = parseNetworkConfig(readFileSync(fromStdin ? 0 : a.file, "utf8"));
      // A lease part whose family the new config has, outside that family's range.
      const orphaned = (lease: Lease): boolean => ([4, 6] as const).some((f) => {
        const part = leasePart(lease, f);
        const range = rangeOf(cfg, f);
        return !!part && !!range && !subnetInNetwork(range, part.subnet);
      });
      const orphans = (await c.view()).leases.flatMap((l) => (l.lease && orphaned(l.lease) ? [leaseName(l.lease)] : []));
      if (orphans.length && !a.force) throw new Refused(`the new config would orphan ${orphans.length} lease(s): ${orphans.join(", ")}; release them first, or add --force`);
      await c.client.put(c.mgr.configKey).value(JSON.stringify(toFlannelConfigJson(cfg)));
      const families = [...(cfg.enableIPv4 ? [`network ${cfg.network}, /${cfg.subnetLen} subnets`] : []), ...(cfg.ipv6 ? [`IPv6 network ${cfg.ipv6.network}, /${cfg.ipv6.subnetLen} subnets`] : [])];
      print(c, toFlannelConfigJson(cfg), `config set: ${families.join(", ")}, backend ${describeBackend(cfg.backend)}`);
    }))
    .demandCommand(1)
    .strict()
    .fail((msg, err, y) => {
      if (err) throw err;
      console.error(`${y.help()}\n\nipamctl: ${msg}`);
      process.exit(1);
    });

  try {
    await cli.parseAsync();
  } catch (err) {
    const e = err as Error;
    if (e instanceof UsageError) {
      console.error(`ipamctl: ${e.message}`);
      return 1;
    }
    if (e instanceof Refused || e instanceof NetworkConfigError) {
      console.error(`ipamctl: ${e.message}`);
      return 1;
    }
    const etcdFailure = ctx && etcd?.describeEtcdFailure(e, ctx);
    if (etcdFailure) {
      console.error(`ipamctl: ${etcdFailure}`);
      return 2;
    }
    console.error(`ipamctl: ${e.message}`);
    return 1;
  } finally {
    ctx?.client.close();
  }
  return code;
}

void main().then((code) => process.exit(code));
