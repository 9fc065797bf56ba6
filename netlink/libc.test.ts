import { describe, expect, it } from "vitest";
import { getLibc } from "./libc.js";

const EBADF = 9;
const EINVAL = 22;
const EAFNOSUPPORT = 97;

// The addon's own checks, and libc's errors passed through: no kernel state is touched.
describe("the libc addon", () => {
  const libc = getLibc();

  it("returns libc's -1 with its errno, kept until the next failure", () => {
    expect(libc.close(-1)).toBe(-1);
    expect(libc.errno()).toBe(EBADF);
    expect(libc.socket(12345, 3, 0)).toBe(-1);
    expect(libc.errno()).toBe(EAFNOSUPPORT);
  });

  it("refuses a length past its buffer (EINVAL) instead of reading or writing beyond it", () => {
    const fd = libc.socket(16 /* AF_NETLINK */, 3 /* SOCK_RAW */, 0);
    expect(fd).toBeGreaterThanOrEqual(0);
    try {
      const small = Buffer.alloc(4);
      expect(libc.recv(fd, small, 5, 0x40 /* MSG_DONTWAIT */)).toBe(-1);
      expect(libc.errno()).toBe(EINVAL);
      expect(libc.setsockopt(fd, 270, 11, small, 8)).toBe(-1);
      expect(libc.errno()).toBe(EINVAL);
      const addr = Buffer.alloc(12);
      expect(libc.sendto(fd, small, 4, 0, addr, 13)).toBe(-1);
      expect(libc.errno()).toBe(EINVAL);
      expect(libc.bind(fd, addr, -1)).toBe(-1);
      expect(libc.errno()).toBe(EINVAL);
      // Not a buffer at all.
      expect(libc.recv(fd, "text" as unknown as Buffer, 4, 0x40)).toBe(-1);
      expect(libc.errno()).toBe(EINVAL);
      // And within its buffer, the call is libc's: nothing queued yet on this socket.
      expect(libc.recv(fd, small, 4, 0x40)).toBe(-1);
      expect(libc.errno()).toBe(11 /* EAGAIN */);
    } finally {
      expect(libc.close(fd)).toBe(0);
    }
  });
});
