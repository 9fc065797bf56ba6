// The node's WireGuard key pair. The private key is made once and kept in a file (0400, in a 0700
// directory), so it survives weftd restarts and node reboots and the other nodes' peers stay valid;
// the public key is derived from it each start. The path is configurable (--wireguard-key-file).
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { WIREGUARD_KEY } from "../../../ipam/backend-config.js";

export interface WireguardKeyPair {
  privateKey: string;
  publicKey: string;
}

export class WireguardKeyError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`WireGuard key file ${file}: ${message}`);
    this.name = "WireguardKeyError";
  }
}

const b64 = (url: string): string => Buffer.from(url, "base64url").toString("base64");

/** PKCS#8's wrapping of a raw X25519 private key (RFC 8410): this prefix, then the 32 bytes. */
const PKCS8_X25519_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The X25519 public key of a base64 private key. */
export function publicKeyOf(privateKey: string): string {
  const der = Buffer.concat([PKCS8_X25519_PREFIX, Buffer.from(privateKey, "base64")]);
  const key = createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  return b64(createPublicKey(key).export({ format: "jwk" }).x as string);
}

export function generateKeyPair(): WireguardKeyPair {
  const { privateKey } = generateKeyPairSync("x25519");
  const jwk = privateKey.export({ format: "jwk" });
  return { privateKey: b64(jwk.d as string), publicKey: b64(jwk.x as string) };
}

/** Reads the key kept at `file`, or makes one and keeps it there (written whole, then renamed into place). */
export function loadOrCreateKey(file: string): WireguardKeyPair & { created: boolean } {
  let text: string | undefined;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new WireguardKeyError(file, `cannot be read: ${(err as Error).message}`);
  }
  if (text !== undefined) {
    // A damaged key is refused, not replaced: a new key would silently cut this node off from every peer.
    if (!WIREGUARD_KEY.test(text)) throw new WireguardKeyError(file, "does not hold a WireGuard private key (32 bytes in base64, as `wg genkey` prints); restore it, or remove it to make a new one (every node then takes the new public key from this node's lease)");
    return { privateKey: text, publicKey: publicKeyOf(text), created: false };
  }
  const pair = generateKeyPair();
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${pair.privateKey}\n`, { mode: 0o400, flag: "wx" });
    chmodSync(tmp, 0o400);
    renameSync(tmp, file);
  } catch (err) {
    throw new WireguardKeyError(file, `cannot be written: ${(err as Error).message}`);
  }
  return { ...pair, created: true };
}
