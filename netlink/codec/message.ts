// Netlink message framing: nlmsghdr {len u32, type u16, flags u16, seq u32, pid u32}, and the
// NLMSG_ERROR reply with its optional extended-ACK attributes (the kernel's error text).
import { align4, attrString, attrU32, ByteWriter, parseAttributes } from "./attributes.js";
import { NLM_F, NLMSG, NLMSG_HDRLEN, NLMSGERR_ATTR } from "./constants.js";
import { readI32LE, readU16LE, readU32LE, view } from "./bytes.js";

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Payload after the 16-byte header. */
  payload: Buffer;
}

export class MessageParseError extends Error {
  constructor(message: string) {
    super(`netlink: malformed message: ${message}`);
    this.name = "MessageParseError";
  }
}

/** The fixed header of an rtnetlink payload must be there before anything reads it. */
export function requireLength(payload: Buffer, length: number, what: string): void {
  if (payload.length < length) throw new MessageParseError(`${what} needs ${length} bytes, got ${payload.length}`);
}

/** Starts a request: writes the header with a placeholder length; `finishMessage` patches it. */
export function beginMessage(type: number, flags: number, seq: number): ByteWriter {
  const w = new ByteWriter();
  w.u32(0);
  w.u16(type);
  w.u16(flags);
  w.u32(seq);
  w.u32(0);
  return w;
}

export function finishMessage(w: ByteWriter): Buffer {
  w.patchU32(0, w.length);
  return w.toBuffer();
}

/** Splits a datagram into messages. */
export function parseMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let pos = 0;
  while (pos + NLMSG_HDRLEN <= buf.length) {
    const len = readU32LE(buf, pos);
    if (len < NLMSG_HDRLEN || pos + len > buf.length) throw new MessageParseError(`length ${len} at offset ${pos} of ${buf.length}`);
    out.push({
      type: readU16LE(buf, pos + 4),
      flags: readU16LE(buf, pos + 6),
      seq: readU32LE(buf, pos + 8),
      pid: readU32LE(buf, pos + 12),
      payload: view(buf, pos + NLMSG_HDRLEN, pos + len),
    });
    pos += align4(len);
  }
  if (pos < buf.length) throw new MessageParseError(`${buf.length - pos} trailing bytes, shorter than a header`);
  return out;
}

export interface ErrorReply {
  /** Positive errno, or 0 for an ACK. */
  errno: number;
  /** Extended ACK text from the kernel, when it sent one. */
  kernelMessage?: string;
  offset?: number;
}

export function parseErrorReply(msg: NetlinkMessage): ErrorReply {
  if (msg.type !== NLMSG.ERROR) throw new MessageParseError(`type ${msg.type} is not NLMSG_ERROR`);
  if (msg.payload.length < 4) throw new MessageParseError("NLMSG_ERROR shorter than 4 bytes");
  const errno = -readI32LE(msg.payload, 0);
  const reply: ErrorReply = { errno };
  if (!(msg.flags & NLM_F.ACK_TLVS) || msg.payload.length < 4 + NLMSG_HDRLEN) return reply;
  // The original request follows: only its header when the reply is capped, all of it otherwise.
  const origLen = readU32LE(msg.payload, 4);
  const tlvStart = 4 + (msg.flags & NLM_F.CAPPED ? NLMSG_HDRLEN : align4(origLen));
  if (tlvStart > msg.payload.length) return reply;
  const attrs = parseAttributes(msg.payload, tlvStart);
  const text = attrString(attrs.get(NLMSGERR_ATTR.MSG));
  if (text) reply.kernelMessage = text;
  const off = attrU32(attrs.get(NLMSGERR_ATTR.OFFS));
  if (off !== undefined) reply.offset = off;
  return reply;
}
