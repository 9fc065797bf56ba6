// What `weft --version` prints: the build and the CNI versions it speaks.
import { SUPPORTED_VERSIONS } from "./spec.js";

export function versionLine(): string {
  const build = typeof __WEFT_VERSION__ === "string" ? __WEFT_VERSION__ : "dev";
  return `weft ${build} (CNI ${SUPPORTED_VERSIONS.join(", ")})\n`;
}
