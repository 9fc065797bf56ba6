// A lease's value in etcd, as flannel writes it for each of its backends:
//   vxlan      {"PublicIP","PublicIPv6","BackendType":"vxlan","BackendData":{"VNI","VtepMAC"},"BackendV6Data":{…}}
//   wireguard  {"PublicIP","PublicIPv6","BackendType":"wireguard","BackendData":{"PublicKey","Port"},"BackendV6Data":{…}}
//   host-gw    {"PublicIP","PublicIPv6","BackendType":"host-gw"}
// each family's data where the lease has that family, in flannel's field order.
import { WIREGUARD_KEY } from "./backend-config.js";
import { canonicalIpv6 } from "./ipv6.js";
import { MalformedLeaseError, parseLeaseKey, type BackendType, type Lease, type LeaseAttrs, type LeasePart, type LeasePartAttrs } from "./subnet-manager.js";

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const BACKEND_TYPES: readonly BackendType[] = ["vxlan", "wireguard", "host-gw"];

/** flannel's PublicIP of a lease without IPv4: its zero IPv4 address (the field has no omitempty). */
const NO_IPV4 = "0.0.0.0";

/** One family's BackendData as the lease's backend writes it. */
function backendData(type: BackendType, vni: number, p: LeasePartAttrs | undefined): object | undefined {
  if (!p || type === "host-gw") return undefined;
  if (type === "wireguard") return p.wireguard && { PublicKey: p.wireguard.publicKey, Port: p.wireguard.port };
  return { VNI: vni, VtepMAC: p.vtepMac };
}

export function encodeLeaseValue(attrs: LeaseAttrs): string {
  const type = attrs.backendType ?? "vxlan";
  return JSON.stringify({
    PublicIP: attrs.ipv4?.publicIp ?? NO_IPV4,
    PublicIPv6: attrs.ipv6?.publicIp,
    BackendType: type,
    BackendData: backendData(type, attrs.vni, attrs.ipv4),
    BackendV6Data: backendData(type, attrs.vni, attrs.ipv6),
  });
}

const partAttrs = (p: LeasePart): LeasePartAttrs => ({ publicIp: p.publicIp, ...(p.vtepMac ? { vtepMac: p.vtepMac } : {}), ...(p.wireguard ? { wireguard: { ...p.wireguard } } : {}) });

/** The attributes a lease was written from. */
export const leaseAttrs = (l: Lease): LeaseAttrs => ({ backendType: l.backendType, vni: l.vni, ...(l.ipv4 ? { ipv4: partAttrs(l.ipv4) } : {}), ...(l.ipv6 ? { ipv6: partAttrs(l.ipv6) } : {}) });

type DataJson = { VNI?: unknown; VtepMAC?: unknown; PublicKey?: unknown; Port?: unknown } | undefined;
interface LeaseJson {
  PublicIP?: unknown;
  PublicIPv6?: unknown;
  BackendType?: unknown;
  BackendData?: DataJson;
  BackendV6Data?: DataJson;
}
type Field = "BackendData" | "BackendV6Data";

function vtepOf(key: string, field: Field, data: DataJson): { vni: number; vtepMac: string } {
  const mac = typeof data?.VtepMAC === "string" ? data.VtepMAC.toLowerCase() : "";
  if (!MAC.test(mac)) throw new MalformedLeaseError(`lease ${key}: ${field}.VtepMAC ${JSON.stringify(data?.VtepMAC)} is not a MAC address`);
  const vni = data?.VNI;
  if (typeof vni !== "number" || !Number.isInteger(vni)) throw new MalformedLeaseError(`lease ${key}: ${field}.VNI ${JSON.stringify(vni)} is not an integer`);
  return { vni, vtepMac: mac };
}

/** A WireGuard part's key and port; a lease without Port (older flannel) means the reader's own port. */
function wireguardOf(key: string, field: Field, data: DataJson): { publicKey: string; port?: number } {
  const publicKey = data?.PublicKey;
  if (typeof publicKey !== "string" || !WIREGUARD_KEY.test(publicKey)) throw new MalformedLeaseError(`lease ${key}: ${field}.PublicKey ${JSON.stringify(publicKey)} is not a WireGuard public key (32 bytes in base64)`);
  const port = data?.Port ?? 0;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) throw new MalformedLeaseError(`lease ${key}: ${field}.Port ${JSON.stringify(port)} is not a UDP port`);
  return { publicKey, ...(port ? { port } : {}) };
}

/** One family's part: subnet and address, with the backend's data read from `field`. */
function partOf(key: string, type: BackendType, subnet: string, publicIp: string, field: Field, data: DataJson): { part: LeasePart; vni: number } {
  if (type === "vxlan") {
    const { vni, vtepMac } = vtepOf(key, field, data);
    return { part: { subnet, publicIp, vtepMac }, vni };
  }
  if (type === "wireguard") return { part: { subnet, publicIp, wireguard: wireguardOf(key, field, data) }, vni: 0 };
  return { part: { subnet, publicIp }, vni: 0 };
}

export function decodeLease(key: string, value: string, expiresAt: Date): Lease {
  const { ipv4Subnet, ipv6Subnet } = parseLeaseKey(key);
  if (value.length > 4096) throw new MalformedLeaseError(`lease ${key}: value of ${value.length} bytes is too large`);
  let v: LeaseJson;
  try {
    v = JSON.parse(value);
  } catch {
    throw new MalformedLeaseError(`lease ${key}: value is not JSON`);
  }
  if (typeof v?.PublicIP !== "string" || !IPV4.test(v.PublicIP)) throw new MalformedLeaseError(`lease ${key}: PublicIP ${JSON.stringify(v?.PublicIP)} is not an IPv4 address`);
  const type = v.BackendType as BackendType;
  if (!BACKEND_TYPES.includes(type)) throw new MalformedLeaseError(`lease ${key}: BackendType ${JSON.stringify(v.BackendType)} is not one of ${BACKEND_TYPES.map((t) => `"${t}"`).join(", ")}`);
  const lease: Lease = { backendType: type, vni: 0, expiresAt };
  if (ipv4Subnet) {
    const { part, vni } = partOf(key, type, ipv4Subnet, v.PublicIP, "BackendData", v.BackendData);
    lease.ipv4 = part;
    lease.vni = vni;
  }
  if (ipv6Subnet) {
    let publicIpv6: string;
    try {
      publicIpv6 = canonicalIpv6(typeof v.PublicIPv6 === "string" ? v.PublicIPv6 : "");
    } catch {
      throw new MalformedLeaseError(`lease ${key}: PublicIPv6 ${JSON.stringify(v.PublicIPv6)} is not an IPv6 address`);
    }
    const { part, vni } = partOf(key, type, ipv6Subnet, publicIpv6, "BackendV6Data", v.BackendV6Data);
    lease.ipv6 = part;
    if (!ipv4Subnet) lease.vni = vni;
  }
  return lease;
}
