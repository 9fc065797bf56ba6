// The errors of the Kubernetes API client: what the API server said (its Status), and what the
// client could not read (a kubeconfig, a token file), each naming the object it concerns.

/** The metav1.Status the API server returns with an error (and in a watch's ERROR event). */
export interface KubeStatus {
  kind?: "Status";
  apiVersion?: string;
  status?: "Failure" | "Success";
  message?: string;
  /** Machine-readable: NotFound, AlreadyExists, Conflict, Expired, Gone, Forbidden, … */
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[]; retryAfterSeconds?: number };
  code?: number;
}

/** A request the API server answered with an error status: callers test `code` and `reason`. */
export class KubeApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly status: KubeStatus;

  constructor(
    /** What was asked, e.g. "GET /api/v1/pods". */
    readonly request: string,
    code: number,
    status: KubeStatus,
  ) {
    const reason = status.reason ?? "";
    super(`${request}: ${code}${reason ? ` ${reason}` : ""}${status.message ? `: ${status.message}` : ""}`);
    this.name = "KubeApiError";
    this.code = code;
    this.reason = reason;
    this.status = status;
  }
}

/** The resourceVersion asked for is older than the server keeps (410): the caller must list again. */
export function isExpired(err: unknown): boolean {
  // Servers before 1.18 said Gone, later ones Expired; both come as 410.
  return err instanceof KubeApiError && (err.code === 410 || err.reason === "Expired" || err.reason === "Gone");
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 404;
}

export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.code === 409;
}

/** A kubeconfig or in-cluster setting that cannot be used, with the file and field concerned. */
export class KubeConfigError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${file}: ${field}: ${problem}`);
    this.name = "KubeConfigError";
  }
}

/** A request that got no answer from the API server: refused, reset, timed out, TLS failed. */
export class KubeRequestError extends Error {
  constructor(
    readonly request: string,
    readonly server: string,
    cause: Error,
  ) {
    super(`${request} at ${server}: ${cause.message}`, { cause });
    this.name = "KubeRequestError";
  }
}
