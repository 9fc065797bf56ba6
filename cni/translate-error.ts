// Maps what the layers below throw to a CNI error with the spec's code and a message that says what to do.
import { InvalidAttachmentError, IpStoreError, PoolExhaustedError } from "../ipam/pod-ip-store.js";
import { LockTimeoutError } from "../ipam/file-lock.js";
import { ExecCacheError, NetlinkError, NetnsError } from "../netlink/index.js";
import { CNI_ERROR, CniError } from "./errors.js";

export function translateError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof NetnsError) return new CniError(CNI_ERROR.INVALID_ENV, `CNI_NETNS: ${err.message}`);
  if (err instanceof PoolExhaustedError) return new CniError(CNI_ERROR.POOL_EXHAUSTED, err.message);
  if (err instanceof InvalidAttachmentError) return new CniError(CNI_ERROR.INVALID_ENV, err.message);
  if (err instanceof LockTimeoutError) return new CniError(CNI_ERROR.TRY_AGAIN_LATER, err.message);
  if (err instanceof IpStoreError) return new CniError(CNI_ERROR.IO_FAILURE, err.message);
  if (err instanceof NetlinkError) return new CniError(CNI_ERROR.KERNEL_REFUSED, err.message);
  if (err instanceof ExecCacheError) return new CniError(CNI_ERROR.IO_FAILURE, err.message);
  const e = err as NodeJS.ErrnoException;
  if (e?.code && e.syscall) return new CniError(CNI_ERROR.IO_FAILURE, `${e.syscall} ${e.path ?? ""}: ${e.code}`.replace("  ", " "));
  return new CniError(CNI_ERROR.IO_FAILURE, `internal error: ${e?.message ?? String(err)}`, e?.stack ?? "");
}
