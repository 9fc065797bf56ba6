// A request before framing: message type, flags and the body after nlmsghdr.
// The socket adds the header with its own sequence number.
export interface Request {
  type: number;
  flags: number;
  body: Buffer;
}
