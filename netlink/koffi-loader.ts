// How the netlink layer gets koffi. Outside a bundled executable: the npm package.
// (The build replaces this path for single executables; see scripts/build.mjs.)
import { createRequire } from "node:module";

type Koffi = typeof import("koffi");

let cached: Koffi | undefined;

export function loadKoffi(): Koffi {
  cached ??= createRequire(import.meta.url)("koffi") as Koffi;
  return cached;
}
