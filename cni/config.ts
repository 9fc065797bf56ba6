// The network configuration on stdin: weft's keys with their defaults. Unknown keys are ignored
// (the spec lets runtimes add their own); a known key of the wrong type is an error naming it.
import { PLUGIN_DEFAULTS } from "../ipam/plugin-networks.js";
import { CNI_ERROR, CniError } from "./errors.js";
import { SUPPORTED_VERSIONS, type Attachment, type CniDns, type CniResult } from "./spec.js";

export interface WeftConfig {
  cniVersion: string;
  name: string;
  subnetFile: string;
  dataDir: string;
  bridge: string;
  hairpinMode: boolean;
  isDefaultGateway: boolean;
  mtu?: number;
  logFile?: string;
  dns?: CniDns;
  prevResult?: CniResult;
  /** For GC: the attachments to keep (empty when the runtime sent none). */
  validAttachments: Attachment[];
}

export const DEFAULTS = { ...PLUGIN_DEFAULTS, hairpinMode: true, isDefaultGateway: true };

const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const invalid = (msg: string): CniError => new CniError(CNI_ERROR.INVALID_CONFIG, msg);

function typed<T>(conf: Record<string, unknown>, key: string, type: "string" | "boolean" | "number" | "object", fallback: T): T {
  const v = conf[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== type || (type === "object" && Array.isArray(v))) throw invalid(`network config key "${key}" must be a ${type}, got ${JSON.stringify(v)}`);
  return v as T;
}

export function parseStdinJson(stdin: string): Record<string, unknown> {
  let conf: unknown;
  try {
    conf = JSON.parse(stdin);
  } catch (err) {
    throw new CniError(CNI_ERROR.DECODING_FAILURE, `network config on stdin is not JSON: ${(err as Error).message}`);
  }
  if (typeof conf !== "object" || conf === null || Array.isArray(conf)) throw new CniError(CNI_ERROR.DECODING_FAILURE, "network config on stdin must be a JSON object");
  return conf as Record<string, unknown>;
}

export function checkVersion(cniVersion: string): void {
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion))
    throw new CniError(CNI_ERROR.INCOMPATIBLE_VERSION, `CNI version "${cniVersion}" is not supported`, `weft supports ${SUPPORTED_VERSIONS.join(", ")}`);
}

/**
 * The attachments a GC must keep. libcni (GCNetworkList, v1.2+) sends them under the spec's key and,
 * for plugins written to the spec's first wording, under "cni.dev/attachments" too. A runtime that
 * calls GC with no list at all (`cnitool gc`: libcni has then already DEL'd every attachment it had
 * cached) sends neither key, or null: libcni's meaning is that no attachment is valid.
 */
function parseValidAttachments(conf: Record<string, unknown>): Attachment[] {
  const key = conf["cni.dev/valid-attachments"] !== undefined ? "cni.dev/valid-attachments" : "cni.dev/attachments";
  const raw = conf[key];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalid(`"${key}" must be an array`);
  return raw.map((a, i) => {
    const att = a as { containerID?: unknown; ifname?: unknown };
    if (typeof att?.containerID !== "string" || typeof att.ifname !== "string") throw invalid(`"${key}"[${i}] needs string containerID and ifname`);
    return { containerId: att.containerID, ifname: att.ifname };
  });
}

export function parseConfig(conf: Record<string, unknown>): WeftConfig {
  const cniVersion = typed(conf, "cniVersion", "string", "");
  if (!cniVersion) throw invalid(`network config needs "cniVersion"`);
  checkVersion(cniVersion);
  const name = typed(conf, "name", "string", "");
  if (!NETWORK_NAME.test(name) || name.length > 128) throw invalid(`network config "name" ${JSON.stringify(conf.name)} must match ${NETWORK_NAME}`);
  const bridge = typed(conf, "bridge", "string", DEFAULTS.bridge);
  if (!bridge || Buffer.byteLength(bridge) > 15 || /[/:\s]/.test(bridge)) throw invalid(`network config key "bridge" ${JSON.stringify(bridge)} is not a valid interface name`);
  const mtu = typed<number | undefined>(conf, "mtu", "number", undefined);
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 576 || mtu > 65535)) throw invalid(`network config key "mtu" must be an integer between 576 and 65535, got ${mtu}`);
  const config: WeftConfig = {
    cniVersion,
    name,
    subnetFile: typed(conf, "subnetFile", "string", DEFAULTS.subnetFile),
    dataDir: typed(conf, "dataDir", "string", DEFAULTS.dataDir),
    bridge,
    hairpinMode: typed(conf, "hairpinMode", "boolean", DEFAULTS.hairpinMode),
    isDefaultGateway: typed(conf, "isDefaultGateway", "boolean", DEFAULTS.isDefaultGateway),
    validAttachments: parseValidAttachments(conf),
  };
  if (mtu !== undefined) config.mtu = mtu;
  const logFile = typed<string | undefined>(conf, "logFile", "string", undefined);
  if (logFile) config.logFile = logFile;
  const dns = typed<CniDns | undefined>(conf, "dns", "object", undefined);
  if (dns) config.dns = dns;
  const prev = typed<CniResult | undefined>(conf, "prevResult", "object", undefined);
  if (prev) config.prevResult = prev;
  return config;
}
