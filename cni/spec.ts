// CNI spec types (1.1) and the versions weft speaks.
export const SUPPORTED_VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export const LATEST_VERSION = "1.1.0";

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}

export interface CniIpConfig {
  address: string;
  gateway?: string;
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

/** 0.0.0.0/0 or ::/0: a pod's default route, which netlink writes without a destination. */
export const isDefaultRoute = (dst: string): boolean => dst === "0.0.0.0/0" || dst === "::/0";

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

export interface Attachment {
  containerId: string;
  ifname: string;
}

const versionTuple = (v: string): number[] => v.split(".").map(Number);

export function versionAtLeast(v: string, min: string): boolean {
  const a = versionTuple(v);
  const b = versionTuple(min);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/** Shapes a result for the version the runtime asked for (0.3.x/0.4.0 carry "version" per IP). */
export function resultForVersion(result: CniResult, cniVersion: string): object {
  if (versionAtLeast(cniVersion, "1.0.0")) return { ...result, cniVersion };
  return { ...result, cniVersion, ips: result.ips?.map((ip) => ({ version: ip.address.includes(":") ? "6" : "4", ...ip })) };
}
