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

/**
 * gRPC passes the endpoint's host as the TLS server name, and Node warns (DEP0123) when that is an IP
 * address — which is how etcd endpoints are usually written, with IP SANs in etcd's certificate.
 * The certificate is still verified against the IP; only that one warning is dropped, so the CLI's
 * stderr carries nothing but errors.
 */
function dropIpServernameWarning(): void {
  if ((process.emitWarning as { weftFiltered?: boolean }).weftFiltered) return;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  const filtered = (...args: unknown[]): void => {
    const code = typeof args[1] === "object" && args[1] ? (args[1] as { code?: string }).code : args[2];
    if (code !== "DEP0123") emit(...args);
  };
  process.emitWarning = Object.assign(filtered, { weftFiltered: true }) as typeof process.emitWarning;
}

export function createEtcdClient(opts: EtcdClientOptions): Etcd3 {
  if (opts.endpoints.length === 0) throw new Error("no etcd endpoints given");
  const tls = Boolean(opts.caFile || opts.certFile || opts.keyFile);
  if (tls && opts.endpoints.some((e) => e.startsWith("http://"))) throw new Error(`etcd TLS files were given but an endpoint is plain http: ${opts.endpoints.join(",")}`);
  const https = opts.endpoints.find((e) => e.startsWith("https://"));
  if (https && !opts.caFile) throw new Error(`etcd endpoint ${https} needs --etcd-cafile (and a client certificate if etcd asks for one): weft never falls back to plaintext`);
  if ((opts.certFile === undefined) !== (opts.keyFile === undefined)) throw new Error("etcd client certificate and key must be given together (--etcd-certfile and --etcd-keyfile)");
  const options: IOptions = {
    hosts: opts.endpoints,
    dialTimeout: opts.timeoutMs ?? 5_000,
    // Unary calls only: a deadline on the watch and lease keep-alive streams would end them every few
    // seconds, and each re-established watch re-read every lease (measured: ~150 KB per 5 s at 1,000 nodes).
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + (opts.timeoutMs ?? 5_000) }),
    faultHandling: {
      // A dead endpoint is skipped for 1 s, not the library's 5 s: after an etcd restart the
      // daemon must reconnect at once, and its own loops already retry with backoff and logs.
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(3) }),
      global: retry(handleWhen(isRecoverableError), { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_000 }) }),
      // The client reopens a cut watch stream by itself, with a backoff of up to 30 s by default. The
      // lease watch no longer waits for that (it starts over with a fresh snapshot at every cut); this
      // bounds the wait for any watch that does, 5 s like the lease watch's own restarts.
      watchBackoff: new ExponentialBackoff({ initialDelay: 250, maxDelay: 5_000 }).next(),
    },
  };
  if (tls) {
    dropIpServernameWarning();
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

/** A TLS failure inside a gRPC error, said in the operator's terms; undefined when it is not one. */
export function explainTlsFailure(message: string): string | undefined {
  if (/alert bad certificate|certificate required|alert number 42\b|alert number 116\b/i.test(message))
    return "etcd refused our client certificate (TLS alert: bad certificate): --etcd-certfile and --etcd-keyfile must be a pair signed by a CA that etcd trusts";
  if (/unable to verify|self[- ]signed|certificate verify failed|unable to get local issuer|ERR_TLS_CERT_ALTNAME|does not match certificate/i.test(message))
    return "etcd's certificate could not be verified with --etcd-cafile (wrong CA, or the endpoint's address is not in its subjectAltName)";
  if (/wrong version number|packet length too long|http\/1\.x|unexpected eof while reading/i.test(message))
    return "the endpoint does not speak TLS: use http:// for a plaintext etcd, or enable TLS on etcd";
  return undefined;
}

