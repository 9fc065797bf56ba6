// Authentication as kube-apiserver's: a bearer token (compared in constant time) or a client
// certificate signed by the cluster's CA, whose CN is the user. Anything else is 401.
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";

export interface User {
  name: string;
  via: "token" | "certificate";
}

export function authenticate(req: IncomingMessage, token: string): User | undefined {
  const header = req.headers.authorization ?? "";
  if (header.startsWith("Bearer ")) {
    const given = Buffer.from(header.slice(7).trim());
    const want = Buffer.from(token);
    return given.length === want.length && timingSafeEqual(given, want) ? { name: "admin", via: "token" } : undefined;
  }
  const socket = req.socket as TLSSocket;
  if (socket.authorized) {
    const cn = socket.getPeerCertificate()?.subject?.CN;
    if (cn) return { name: Array.isArray(cn) ? (cn[0] ?? "") : cn, via: "certificate" };
  }
  return undefined;
}
