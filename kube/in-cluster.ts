// Whether this process runs in a pod with a service account. Apart from config.ts so that a caller can
// ask without loading the kubeconfig reader (and its YAML parser).
import { existsSync } from "node:fs";
import { join } from "node:path";

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface InClusterOptions {
  /** The service account's directory (a test passes a temporary one). */
  dir?: string;
  env?: NodeJS.ProcessEnv;
  tokenRefreshMs?: number;
  now?: () => number;
}

/** The API's address in the environment and a token file: what client-go's InClusterConfig needs. */
export function inClusterAvailable(opts: InClusterOptions = {}): boolean {
  const env = opts.env ?? process.env;
  return Boolean(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT) && existsSync(join(opts.dir ?? SERVICE_ACCOUNT_DIR, "token"));
}
