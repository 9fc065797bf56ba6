// The plugin's own configuration, as the container runtime reads it: every conflist (or single
// conf) in the CNI conf dir that runs a plugin of type "weft". weftd reads its pods' IP records
// where these say the plugin writes them, so the two can never be told different places.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The plugin's defaults for the keys weftd cares about (cni/config.ts applies the same). */
export const PLUGIN_DEFAULTS = { subnetFile: "/run/weft/subnet.env", dataDir: "/var/lib/cni/weft", bridge: "cni0" } as const;

export interface PluginNetwork {
  /** The file it came from. */
  file: string;
  /** The network's name: the records' folder under dataDir. */
  name: string;
  dataDir: string;
  subnetFile: string;
  bridge: string;
}

export interface PluginNetworks {
  networks: PluginNetwork[];
  /** Files that could not be read as CNI configurations, with why (a runtime skips them too). */
  unreadable: { file: string; why: string }[];
}

/** The extensions libcni loads from a conf dir. */
const CONF_FILE = /\.(conflist|conf|json)$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
/** As the plugin reads a key: its default only when the key is absent (a wrong type fails the plugin too). */
const text = (o: Obj, key: string, fallback: string): string => (typeof o[key] === "string" ? (o[key] as string) : fallback);

/** The weft plugins of one configuration: a conflist's `plugins`, or a single conf that is one. */
export function weftPluginsOf(conf: unknown, file: string, type = "weft"): PluginNetwork[] {
  if (!isObj(conf)) throw new Error("not a JSON object");
  const name = conf.name;
  if (typeof name !== "string" || !name) throw new Error(`has no network "name"`);
  const plugins = Array.isArray(conf.plugins) ? conf.plugins : [conf];
  return plugins
    .filter((p): p is Obj => isObj(p) && p.type === type)
    .map((p) => ({ file, name, dataDir: text(p, "dataDir", PLUGIN_DEFAULTS.dataDir), subnetFile: text(p, "subnetFile", PLUGIN_DEFAULTS.subnetFile), bridge: text(p, "bridge", PLUGIN_DEFAULTS.bridge) }));
}

/** Every weft network configured in `confDir`; a missing dir has none. */
export function readPluginNetworks(confDir: string, type = "weft"): PluginNetworks {
  let files: string[];
  try {
    files = readdirSync(confDir).filter((f) => CONF_FILE.test(f)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { networks: [], unreadable: [] };
    throw err;
  }
  const result: PluginNetworks = { networks: [], unreadable: [] };
  for (const f of files) {
    const file = join(confDir, f);
    try {
      result.networks.push(...weftPluginsOf(JSON.parse(readFileSync(file, "utf8")), file, type));
    } catch (err) {
      result.unreadable.push({ file, why: (err as Error).message });
    }
  }
  return result;
}
