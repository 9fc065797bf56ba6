// Prepended to bundles that include etcd3. etcd3 reads its gRPC .proto files from disk next to its
// own module; a single executable has no such directory, so the build embeds them as SEA assets and
// rewrites that path to call this function, which writes them once to a cache dir named by their hash.
globalThis.__weftEtcdProtoPath = function weftEtcdProtoPath() {
  const fs = require("node:fs");
  const sea = require("node:sea");
  const base =
    process.env.WEFT_CACHE_DIR ||
    (process.getuid && process.getuid() === 0 ? "/var/cache/weft" : `${process.env.XDG_CACHE_HOME || `${process.env.HOME || "/tmp"}/.cache`}/weft`);
  const dir = `${base}/etcd3-proto-${__WEFT_PROTO_HASH__}`;
  if (!fs.existsSync(`${dir}/rpc.proto`)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const name of ["kv.proto", "auth.proto", "rpc.proto"]) {
      const tmp = `${dir}/${name}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, new Uint8Array(sea.getAsset(`etcd3/${name}`)));
      fs.renameSync(tmp, `${dir}/${name}`);
    }
  }
  return `${dir}/rpc.proto`;
};
