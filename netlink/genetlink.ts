// Generic netlink sockets and the lookup of a family by name. A family's id is assigned when its
// module registers, so it is asked of the controller at run time, never hard-coded.
import { buildGetFamily, GENL_ID_CTRL, NETLINK_GENERIC, parseFamily, type GenlFamily } from "./codec/genetlink.js";
import { MessageParseError } from "./codec/message.js";
import { inNetns } from "./netns.js";
import { NetlinkSocket } from "./socket.js";

/** A NETLINK_GENERIC socket in the namespace at `netnsPath`, or the caller's own. */
export function openGenericSocket(netnsPath?: string): NetlinkSocket {
  return netnsPath ? inNetns(netnsPath, () => NetlinkSocket.open(NETLINK_GENERIC)) : NetlinkSocket.open(NETLINK_GENERIC);
}

/** Asks the controller for family `name`; throws NotFoundError (ENOENT) when no module registered it. */
export function queryGenericFamily(sock: NetlinkSocket, name: string, netnsPath?: string): GenlFamily {
  const object = `generic netlink family "${name}"${netnsPath ? ` in ${netnsPath}` : ""}`;
  const reply = sock.request(buildGetFamily(name), "resolve", object).find((m) => m.type === GENL_ID_CTRL);
  if (!reply) throw new MessageParseError(`no CTRL_CMD_NEWFAMILY reply for ${object}`);
  return parseFamily(reply.payload);
}

/** Looks up one family over a socket of its own (a read-only query: it changes nothing). */
export function lookupGenericFamily(name: string, netnsPath?: string): GenlFamily {
  const sock = openGenericSocket(netnsPath);
  try {
    return queryGenericFamily(sock, name, netnsPath);
  } finally {
    sock.close();
  }
}
