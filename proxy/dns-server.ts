// Cluster DNS for the lab (what CoreDNS's kubernetes plugin answers), on UDP and TCP port 53, over
// IPv4 and IPv6: one socket per protocol on "::" takes both families (IPv4 clients arrive as
// ::ffff:a.b.c.d), and where the kernel has no IPv6 at all UDP falls back to 0.0.0.0 (TCP's listen
// without a host does the same by itself). Built on dns-packet, a small, widely used wire-format
// codec: the records come from dns-records.ts, so answers follow the cluster state file within one
// change notification.
import { once } from "node:events";
import { createSocket, type Socket } from "node:dgram";
import { createServer } from "node:net";
import * as dnsPacket from "dns-packet";
import { buildZone, lookup, type DnsRecord, type Zone } from "./dns-records.js";

function toAnswer(r: DnsRecord): dnsPacket.Answer {
  return { name: r.name, type: r.type, ttl: r.ttl, class: "IN", data: r.data } as dnsPacket.Answer;
}

/** A UDP answer's room: 512 bytes (RFC 1035), or what the client's EDNS0 record offers. */
function udpLimit(q: dnsPacket.Packet): number {
  const opt = (q.additionals ?? []).find((a) => a.type === "OPT") as { udpPayloadSize?: number } | undefined;
  return Math.max(512, opt?.udpPayloadSize ?? 512);
}

/**
 * The answer to `query`; over UDP (`udp`) one too large for the client's room goes back empty with
 * TC set, as CoreDNS answers, so the resolver asks again over TCP (a dual-stack headless Service's
 * A and AAAA records outgrow 512 bytes sooner than an IPv4 one's).
 */
export function answer(zone: Zone, query: Buffer, udp = false): Buffer {
  const q = dnsPacket.decode(query);
  const question = q.questions?.[0];
  const base = { type: "response" as const, id: q.id, questions: q.questions ?? [] };
  if (!question) return dnsPacket.encode({ ...base, flags: 1 /* FORMERR */ });
  const res = lookup(zone, question.name, question.type);
  const flags = dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (res.rcode === "NXDOMAIN" ? 3 : 0);
  const full = dnsPacket.encode({ ...base, flags, answers: res.answers.map(toAnswer) });
  if (!udp || full.length <= udpLimit(q)) return full;
  return dnsPacket.encode({ ...base, flags: flags | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
}

export interface DnsServer {
  setZone(zone: Zone): void;
  /** Settles once both sockets are bound; rejects with the bind error (a port in use, say). */
  listening: Promise<void>;
  close(): void;
}

type OnDatagram = (sock: Socket, msg: Buffer, from: { address: string; port: number }) => void;

async function bindUdpOf(type: "udp4" | "udp6", address: string, port: number, onMessage: OnDatagram, onError: (err: Error) => void): Promise<Socket> {
  const sock = createSocket({ type, ipv6Only: false });
  sock.on("message", (msg, rinfo) => onMessage(sock, msg, rinfo));
  try {
    sock.bind(port, address);
    await once(sock, "listening");
  } catch (err) {
    sock.close();
    throw err;
  }
  sock.on("error", onError);
  return sock;
}

/** A UDP socket on `port` of every address of both families, or of IPv4 alone on a kernel without IPv6. */
async function bindUdp(port: number, onMessage: OnDatagram, onError: (err: Error) => void): Promise<Socket> {
  try {
    return await bindUdpOf("udp6", "::", port, onMessage, onError);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EAFNOSUPPORT") throw err;
    return bindUdpOf("udp4", "0.0.0.0", port, onMessage, onError);
  }
}

export function serveDns(port: number, onError: (err: Error) => void): DnsServer {
  let zone = buildZone({ services: [], endpointSlices: [], pods: [], nodes: [] });
  const udp = bindUdp(port, (sock, msg, from) => {
    try {
      sock.send(answer(zone, msg, true), from.port, from.address);
    } catch (err) {
      onError(err as Error);
    }
  }, onError);
  const tcp = createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        try {
          const out = answer(zone, buf.subarray(2, 2 + len));
          const framed = Buffer.alloc(2 + out.length);
          framed.writeUInt16BE(out.length, 0);
          out.copy(framed, 2);
          sock.write(framed);
        } catch (err) {
          onError(err as Error);
          sock.destroy();
        }
        buf = buf.subarray(2 + len);
      }
    });
    sock.on("error", () => undefined);
  });
  tcp.listen(port);
  const listening = Promise.all([udp, once(tcp, "listening").then(() => tcp.on("error", onError))]).then(() => undefined);
  listening.catch(onError);
  return {
    setZone: (z) => void (zone = z),
    listening,
    close: () => {
      void udp.then((s) => s.close(), () => undefined);
      tcp.close();
    },
  };
}
