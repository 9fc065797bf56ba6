import { NLM_F } from "./constants.js";

// A request before framing: message type, flags and the body after nlmsghdr.
// The socket adds the header with its own sequence number.
export interface Request {
  type: number;
  flags: number;
  body: Buffer;
}

/** The flags of a create (fails if it exists), replace (create or overwrite) or delete request. */
export function changeFlags(type: "new" | "replace" | "del"): number {
  const base = NLM_F.REQUEST | NLM_F.ACK;
  if (type === "new") return base | NLM_F.CREATE | NLM_F.EXCL;
  if (type === "replace") return base | NLM_F.CREATE | NLM_F.REPLACE;
  return base;
}
