// Typed netlink errors: callers test `instanceof ExistsError` / `NotFoundError` instead of errnos,
// and every message says what failed, on which object, and (where known) what to do.

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  34: "ERANGE",
  95: "EOPNOTSUPP",
  99: "EADDRNOTAVAIL",
  105: "ENOBUFS",
};

export const errnoName = (errno: number): string => ERRNO_NAMES[errno] ?? `errno ${errno}`;

export class NetlinkError extends Error {
  constructor(
    readonly op: string,
    readonly object: string,
    readonly errno: number,
    readonly kernelMessage?: string,
    hint?: string,
  ) {
    super(
      `netlink ${op} ${object}: ${errnoName(errno)}${kernelMessage ? ` (${kernelMessage})` : ""}${hint ? `; ${hint}` : ""}`,
    );
    this.name = new.target.name;
  }
}

export class ExistsError extends NetlinkError {}
export class NotFoundError extends NetlinkError {}
export class PermissionError extends NetlinkError {}
export class BusyError extends NetlinkError {}
export class InvalidError extends NetlinkError {}

/** Opening or entering a network namespace failed (bad path, not a namespace, no permission). */
export class NetnsError extends Error {
  constructor(
    readonly netnsPath: string,
    readonly reason: string,
  ) {
    super(`network namespace ${netnsPath}: ${reason}`);
    this.name = "NetnsError";
  }
}

export function netlinkError(op: string, object: string, errno: number, kernelMessage?: string): NetlinkError {
  switch (errno) {
    case 17:
      return new ExistsError(op, object, errno, kernelMessage, "it already exists");
    case 2:
    case 3:
    case 19:
    case 99:
      return new NotFoundError(op, object, errno, kernelMessage, "it does not exist");
    case 1:
    case 13:
      return new PermissionError(op, object, errno, kernelMessage, "needs CAP_NET_ADMIN in that namespace (run as root)");
    case 16:
      return new BusyError(op, object, errno, kernelMessage, "the object is in use; retry");
    case 22:
    case 34:
    case 95:
      return new InvalidError(op, object, errno, kernelMessage);
    default:
      return new NetlinkError(op, object, errno, kernelMessage);
  }
}

/**
 * The kernel has no "wireguard" generic netlink family: its WireGuard module is neither loaded nor
 * loadable (the family lookup already asks the kernel to load it). weftd can use wireguard-go instead.
 */
export class WireguardUnavailableError extends Error {
  readonly family = "wireguard";
  constructor(readonly netnsPath?: string) {
    super(
      `kernel WireGuard is unavailable${netnsPath ? ` in ${netnsPath}` : ""}: the kernel has no "wireguard" generic netlink family ` +
        "(no WireGuard module). Load it with `modprobe wireguard` (Linux 5.6+ ships it; install the module package for this kernel " +
        "if modprobe cannot find it), or use the userspace implementation, wireguard-go.",
    );
    this.name = "WireguardUnavailableError";
  }
}
