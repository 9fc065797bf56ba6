// Which program the one executable is: the CNI plugin, weftd or ipamctl. Busybox-style, by the name it
// is called with (links to one file), or by an explicit first argument (`weft daemon …`, `weft ipamctl …`).
// Pure: the entry point (cni/sea-main.ts) hands it argv[0], the executable's path and the first argument.

export type Role = "plugin" | "daemon" | "ipamctl";

/** The names each role answers to; the plugin is the default (a runtime execs it by its conflist type). */
const BY_NAME: Record<string, Role> = { weftd: "daemon", ipamctl: "ipamctl" };
/** `weft <subcommand> …`: the first argument picks the role when the name does not. */
const BY_SUBCOMMAND: Record<string, Role> = { daemon: "daemon", weftd: "daemon", ipamctl: "ipamctl" };

export type RoleChoice = { role: Role; /** the first argument named the role: drop it before the role runs */ bySubcommand: boolean };

const baseName = (path: string): string => path.slice(path.lastIndexOf("/") + 1);
const lookUp = (table: Record<string, Role>, key: string | undefined): Role | undefined => (key !== undefined && Object.hasOwn(table, key) ? table[key] : undefined);

/**
 * argv0 first: a symbolic link keeps its own name there while the executable's path is the link's
 * target; a hard link shows its name in both. A CNI runtime never passes arguments, so a first
 * argument that names a role cannot be a plugin call.
 */
export function chooseRole(argv0: string, execPath: string, firstArg: string | undefined): RoleChoice {
  const named = lookUp(BY_NAME, baseName(argv0)) ?? lookUp(BY_NAME, baseName(execPath));
  if (named) return { role: named, bySubcommand: false };
  const sub = lookUp(BY_SUBCOMMAND, firstArg);
  if (sub) return { role: sub, bySubcommand: true };
  return { role: "plugin", bySubcommand: false };
}
