// Entry point of `weftd` (placeholder until its issue lands: answers --version only).
const version = typeof __WEFT_VERSION__ === "string" ? __WEFT_VERSION__ : "dev";

if (process.argv.includes("--version")) {
  process.stdout.write(`weftd ${version}\n`);
  process.exit(0);
}
process.stderr.write("weftd: not implemented yet\n");
process.exit(1);
