// Cluster DNS for the lab (what CoreDNS's kubernetes plugin answers), on UDP and TCP port 53.
// Built on dns-packet, a small, widely used wire-format codec: the records come from dns-records.ts,
// so answers follow the cluster state file within one change notification.
import { createSocket } from "node:dgram";
import { createServer } from "node:net";
import * as dnsPacket from "dns-packet";
import { buildZone, lookup, type DnsRecord, type Zone } from "./dns-records.js";

function toAnswer(r: DnsRecord): dnsPacket.Answer {
  return { name: r.name, type: r.type, ttl: r.ttl, class: "IN", data: r.data } as dnsPacket.Answer;
}

export function answer(zone: Zone, query: Buffer): Buffer {
  const q = dnsPacket.decode(query);
  const question = q.questions?.[0];
  const base = { type: "response" as const, id: q.id, questions: q.questions ?? [] };
  if (!question) return dnsPacket.encode({ ...base, flags: 1 /* FORMERR */ });
  const res = lookup(zone, question.name, question.type);
  const rcodeBits = res.rcode === "NXDOMAIN" ? 3 : 0;
  return dnsPacket.encode({ ...base, flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcodeBits, answers: res.answers.map(toAnswer) });
}

export interface DnsServer {
  setZone(zone: Zone): void;
  close(): void;
}

export function serveDns(port: number, onError: (err: Error) => void): DnsServer {
  let zone = buildZone({ services: [], endpointSlices: [], pods: [], nodes: [] });
  const udp = createSocket("udp4");
  udp.on("message", (msg, rinfo) => {
    try {
      udp.send(answer(zone, msg), rinfo.port, rinfo.address);
    } catch (err) {
      onError(err as Error);
    }
  });
  udp.bind(port, "0.0.0.0");
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
  tcp.listen(port, "0.0.0.0");
  return {
    setZone: (z) => void (zone = z),
    close: () => {
      udp.close();
      tcp.close();
    },
  };
}
