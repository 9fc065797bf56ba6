#!/usr/bin/env node
// Builds the one single executable (Node SEA) and the lab CLI:
//   TypeScript --esbuild--> CommonJS bundles --node --experimental-sea-config--> blob
//   --postject--> a copy of the node binary that runs them with nothing else installed.
// The executable is the CNI plugin, weftd or ipamctl by the name it is called with (dist/bin/weftd and
// dist/bin/ipamctl are symbolic links to dist/bin/weft) or by its first argument (cni/sea-role.ts).
// Its main script is a small entry point; each role's bundle is an SEA asset that the entry point
// compiles only when that role runs (cni/sea-asset.ts). The netlink layer's libc addon and etcd3's protos
// ride along as assets too (see netlink/libc.ts, scripts/sea-etcd-protos.cjs).
// The addon (netlink/native/libc-calls.c) is compiled here with the machine's C compiler against the
// headers of the Node that builds (and is copied into) the executable.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const dist = join(root, "dist");
const work = join(dist, "build");

const EXECUTABLE = { name: "weft", entry: "cni/sea-main.ts" };
// Each role's code, as the asset the entry point runs for it (with a code cache per role, and per verb
// for the plugin). The plugin's start runs the entry point and plugin.js only: both are on the hot path.
const ROLES = [
  { asset: "plugin.js", entry: "cni/main.ts", hotPath: true },
  { asset: "weftd.js", entry: "daemon/main.ts", etcd: true },
  { asset: "ipamctl.js", entry: "cli/ipamctl.ts", etcd: true },
];
// The names the roles answer to, as links to the one file (relative: the folder can move).
const LINKS = ["weftd", "ipamctl"];
const ETCD_PROTOS = ["kv.proto", "auth.proto", "rpc.proto"];
const ETCD_PROTO_PATH = "`${__dirname}/../proto/rpc.proto`";

// etcd3 loads rpc.proto from beside its module; in a single executable that path is the protos' SEA asset.
const etcdProtoPlugin = {
  name: "etcd3-proto-from-sea-asset",
  setup(build) {
    build.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, async (args) => {
      const src = readFileSync(args.path, "utf8");
      if (!src.includes(ETCD_PROTO_PATH)) throw new Error(`etcd3 no longer loads ${ETCD_PROTO_PATH}: update scripts/build.mjs`);
      return { contents: src.replace(ETCD_PROTO_PATH, "globalThis.__weftEtcdProtoPath()"), loader: "js" };
    });
  },
};
const SCRIPTS = [
  // etcd3 (the lab's API server) loads its protos from beside its module: required from node_modules, not bundled.
  { name: "weft-lab", entry: "lab/main.ts", out: "lab/weft-lab.cjs", external: ["etcd3"] },
  { name: "weft-proxy", entry: "proxy/main.ts", out: "lab/weft-proxy.cjs" },
  // One row of a policy truth table, nine at a time: its own small bundle starts in a third of the time.
  { name: "netpol-row", entry: "lab/matrix/netpol-row-main.ts", out: "lab/netpol-row.cjs" },
];

// The CNI plugin is exec'd for every pod: none of these may reach its bundle.
// node:net (even for isIP) loads Node's streams with it: ~3 ms of every pod's start.
const FORBIDDEN_ON_HOT_PATH = ["etcd3", "@grpc/", "grpc", "pino", "prom-client", "yargs", "node:http", "node:https", "node:crypto", "http", "https", "crypto", "node:net", "net", "node:stream", "stream"];

/** The first 16 hex digits of the SHA-256 of some files: names cache files by what they hold. */
function shortHash(...files) {
  const h = createHash("sha256");
  for (const f of files) h.update(readFileSync(f));
  return h.digest("hex").slice(0, 16);
}

function version() {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  let sha = "";
  try {
    sha = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {
    // not a git checkout
  }
  return sha ? `${pkg.version}+${sha}` : pkg.version;
}

/** The Node-API headers of the Node running the build: beside its binary, or where node-gyp keeps them. */
function nodeHeaders() {
  const candidates = [
    join(dirname(process.execPath), "..", "include", "node"),
    join(process.env.HOME ?? "/root", ".cache", "node-gyp", process.versions.node, "include", "node"),
  ];
  const found = candidates.find((d) => existsSync(join(d, "node_api.h")));
  if (!found) throw new Error(`Node's headers (node_api.h) not found in: ${candidates.join(", ")}`);
  return found;
}

/** Compiles netlink/native/libc-calls.c into dist/native/libc-calls.node (tests and the lab load it from there). */
function buildLibcAddon() {
  const out = join(dist, "native", "libc-calls.node");
  mkdirSync(dirname(out), { recursive: true });
  const cc = process.env.CC ?? "cc";
  const args = ["-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-fvisibility=hidden", "-I", nodeHeaders(), "-o", out, join(root, "netlink", "native", "libc-calls.c")];
  try {
    execFileSync(cc, args, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    throw new Error(`${cc} could not build the libc addon: ${err.stderr?.toString().trim() || err.message}`);
  }
  return out;
}

async function bundle(entry, outfile, defines, extra = {}) {
  const result = await esbuild.build({
    ...extra,
    entryPoints: [join(root, entry)],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    minify: extra.minify ?? true,
    keepNames: extra.keepNames ?? true,
    sourcemap: false,
    metafile: true,
    logLevel: "warning",
    // koffi (the lab's and weft-proxy's raw sockets) is loaded from node_modules at run time, never bundled.
    external: extra.external ?? ["koffi"],
    define: { ...defines, "import.meta.url": JSON.stringify("file:///weft-bundle.cjs") },
  });
  return result.metafile;
}

// The plugin's bundle keeps its identifiers (stack traces in its log name real functions) and so needs no
// keepNames: esbuild's keepNames wraps every function and class in an Object.defineProperty call at the
// bundle's top level, 0.55 ms of every plugin start (top level 1.83 → 1.27 ms, same runs).
const HOT_PATH_MINIFY = { minify: false, minifyWhitespace: true, minifySyntax: true, keepNames: false };

function assertHotPathClean(name, metafile) {
  const inputs = Object.keys(metafile.inputs);
  const imports = Object.values(metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
  const bad = FORBIDDEN_ON_HOT_PATH.filter((mod) => inputs.some((p) => p.includes(`node_modules/${mod}`)) || imports.includes(mod));
  if (bad.length) throw new Error(`${name}: the CNI plugin's bundle must not include ${bad.join(", ")} (startup cost on every pod)`);
}

function makeExecutable(name, bundleFile, assets) {
  const blob = join(work, `${name}.blob`);
  const seaConfig = join(work, `${name}.sea.json`);
  writeFileSync(
    seaConfig,
    JSON.stringify({ main: bundleFile, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, assets }),
  );
  execFileSync(process.execPath, ["--experimental-sea-config", seaConfig], { stdio: "pipe" });
  const out = join(dist, "bin", name);
  rmSync(out, { force: true });
  copyFileSync(process.execPath, out);
  execFileSync(
    process.execPath,
    [require.resolve("postject/dist/cli.js"), out, "NODE_SEA_BLOB", blob, "--sentinel-fuse", "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2"],
    // postject warns about ELF note sections it does not know; only a failure is worth showing.
    { stdio: "pipe" },
  );
  chmodSync(out, 0o755);
  return out;
}

/** dist/bin/<link> -> <name>, replacing whatever was there (an earlier build's separate executables). */
function linkRoles(name) {
  for (const link of LINKS) {
    const path = join(dist, "bin", link);
    rmSync(path, { force: true });
    symlinkSync(name, path);
  }
}

async function main() {
  const started = Date.now();
  mkdirSync(join(dist, "bin"), { recursive: true });
  mkdirSync(work, { recursive: true });
  const addonPath = buildLibcAddon();
  const addonHash = shortHash(addonPath);
  // __WEFT_CRASH_POINTS__ false: the test-only crash points (cni/crash-point.ts) are removed from what ships.
  const defines = { __WEFT_VERSION__: JSON.stringify(version()), __LIBC_ADDON_HASH__: JSON.stringify(addonHash), __WEFT_CRASH_POINTS__: "false" };

  const protoDir = join(root, "node_modules", "etcd3", "proto");
  const protoHash = shortHash(...ETCD_PROTOS.map((p) => join(protoDir, p)));
  const protoBanner = readFileSync(join(root, "scripts", "sea-etcd-protos.cjs"), "utf8").replace("__WEFT_PROTO_HASH__", JSON.stringify(protoHash));
  const assets = { "libc-calls.node": addonPath };
  for (const p of ETCD_PROTOS) assets[`etcd3/${p}`] = join(protoDir, p);
  const hashes = {};
  await Promise.all(
    ROLES.map(async (role) => {
      const file = join(work, role.asset.replace(/\.js$/, ".cjs"));
      const extra = role.etcd ? { plugins: [etcdProtoPlugin], banner: { js: protoBanner } } : role.hotPath ? HOT_PATH_MINIFY : {};
      const meta = await bundle(role.entry, file, defines, extra);
      if (role.hotPath) assertHotPathClean(role.asset, meta);
      assets[role.asset] = file;
      hashes[role.asset] = shortHash(file);
    }),
  );
  const entryFile = join(work, `${EXECUTABLE.name}.cjs`);
  assertHotPathClean(EXECUTABLE.name, await bundle(EXECUTABLE.entry, entryFile, { ...defines, __WEFT_ASSET_HASHES__: JSON.stringify(hashes) }));
  for (const s of SCRIPTS) {
    // The lab runs from the source tree with the npm packages: plain node, no SEA, the addon from dist/native.
    await bundle(s.entry, join(dist, s.out), { __WEFT_VERSION__: defines.__WEFT_VERSION__ }, s.external ? { external: ["koffi", ...s.external] } : {});
  }
  const out = makeExecutable(EXECUTABLE.name, entryFile, assets);
  linkRoles(EXECUTABLE.name);
  console.log(`built ${out.replace(`${root}/`, "")} (and ${LINKS.map((l) => `dist/bin/${l}`).join(", ")}, links to it)`);
  console.log(`build done in ${((Date.now() - started) / 1000).toFixed(1)} s (version ${version()})`);
}

main().catch((err) => {
  console.error(`build failed: ${err.message}`);
  process.exit(1);
});
