// The etcd client with TLS when certificate files are given: a wrong or missing file is an error
// that names it, never a silent fall back to plaintext.
import { readFileSync } from "node:fs";
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry } from "cockatiel";
import { Etcd3, isRecoverableError, type IOptions } from "etcd3";

export interface EtcdClientOptions {
  endpoints: string[];
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Per-request deadline. */
  timeoutMs?: number;
}

function readPem(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`etcd ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function createEtcdClient(opts: EtcdClientOptions): Etcd3 {
  if (opts.endpoints.length === 0) throw new Error("no etcd endpoints given");
  const tls = Boolean(opts.caFile || opts.certFile || opts.keyFile);
  if (tls && opts.endpoints.some((e) => e.startsWith("http://"))) throw new Error(`etcd TLS files were given but an endpoint is plain http: ${opts.endpoints.join(",")}`);
  if ((opts.certFile === undefined) !== (opts.keyFile === undefined)) throw new Error("etcd client certificate and key must be given together (--etcd-certfile and --etcd-keyfile)");
  const options: IOptions = {
    hosts: opts.endpoints,
    dialTimeout: opts.timeoutMs ?? 5_000,
    defaultCallOptions: () => ({ deadline: Date.now() + (opts.timeoutMs ?? 5_000) }),
    faultHandling: {
      // A dead endpoint is skipped for 1 s, not the library's 5 s: after an etcd restart the
      // daemon must reconnect at once, and its own loops already retry with backoff and logs.
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(3) }),
      global: retry(handleWhen(isRecoverableError), { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_000 }) }),
    },
  };
  if (tls) {
    if (!opts.caFile) throw new Error("etcd TLS needs the CA file (--etcd-cafile) to verify the server");
    const credentials: NonNullable<IOptions["credentials"]> = { rootCertificate: readPem("CA file", opts.caFile) };
    if (opts.certFile && opts.keyFile) {
      credentials.certChain = readPem("certificate", opts.certFile);
      credentials.privateKey = readPem("key", opts.keyFile);
    }
    options.credentials = credentials;
  }
  return new Etcd3(options);
}
