// The only module that touches the FFI: the few libc calls netlink needs, declared once.
// All calls are synchronous; a netlink round trip takes microseconds.
import { loadKoffi } from "./koffi-loader.js";

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  sendto(fd: number, buf: Buffer, len: number, flags: number, addr: Buffer, addrLen: number): number;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  bind(fd: number, addr: Buffer, addrLen: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
  errno(): number;
}

let libc: Libc | undefined;

export function getLibc(): Libc {
  if (libc) return libc;
  const koffi = loadKoffi();
  const lib = koffi.load("libc.so.6");
  libc = {
    socket: lib.func("int socket(int, int, int)"),
    setsockopt: lib.func("int setsockopt(int, int, int, const void *, uint32_t)"),
    sendto: lib.func("long sendto(int, const void *, size_t, int, const void *, uint32_t)"),
    recv: lib.func("long recv(int, void *, size_t, int)"),
    bind: lib.func("int bind(int, const void *, uint32_t)"),
    close: lib.func("int close(int)"),
    setns: lib.func("int setns(int, int)"),
    errno: () => koffi.errno(),
  } as Libc;
  return libc;
}
