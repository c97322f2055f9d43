import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** File in the data dir holding the generated server key (mode 0600) when RUNCAST_SERVER_KEY is unset. */
export const SERVER_KEY_FILE = "server-key";

const HINT = "32 random bytes in base64 or hex (make one with: openssl rand -base64 32)";

/** Decodes RUNCAST_SERVER_KEY: exactly 32 bytes, as hex or base64 (standard or URL-safe). */
export function parseServerKey(text: string, source: string): Buffer {
  const t = text.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, "hex") : /^[A-Za-z0-9+/_-]{43}=?$/.test(t) ? Buffer.from(t, "base64") : null;
  if (!bytes || bytes.length !== 32) throw new Error(`${source} must be ${HINT}`);
  return bytes;
}

/**
 * The server key: RUNCAST_SERVER_KEY when set (every node of a deployment shares it), otherwise the
 * data dir's `server-key` file, generated on first start with mode 0600.
 */
export function loadServerKey(fromEnv: string | undefined, dataDir: string): { key: Buffer; source: "env" | "file" } {
  if (fromEnv) return { key: parseServerKey(fromEnv, "RUNCAST_SERVER_KEY"), source: "env" };
  const file = join(dataDir, SERVER_KEY_FILE);
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    return { key: parseServerKey(readFileSync(file, "utf8"), file), source: "file" };
  }
  const key = randomBytes(32);
  writeFileSync(file, key.toString("base64") + "\n", { mode: 0o600, flag: "wx" });
  return { key, source: "file" };
}

/**
 * Seals secrets under the server key with AES-256-GCM. Each secret is bound to its row by the
 * additional data (a sealed value copied to another row does not open). Format `v1.<iv>.<tag>.<ciphertext>`.
 */
export class SecretBox {
  readonly #key: Buffer;
  readonly #urlKey: Buffer;
  /** Names the server key without revealing it: nodes compare it to find a mismatch at start. */
  readonly fingerprint: string;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error("the server key must be 32 bytes");
    this.#key = key;
    this.fingerprint = createHmac("sha256", key).update("runcast server key fingerprint").digest("hex").slice(0, 32);
    this.#urlKey = createHmac("sha256", key).update("runcast signed urls").digest();
  }

  /** A signature of `data` (base64url), e.g. for URLs Runcast hands out; every node makes and checks the same. */
  sign(data: string): string {
    return createHmac("sha256", this.#urlKey).update(data, "utf8").digest("base64url");
  }

  /** Whether `signature` is `sign(data)`, compared in constant time. */
  verify(data: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(data));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  seal(plain: string, boundTo: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(Buffer.from(boundTo, "utf8"));
    const ct = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return ["v1", iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), ct.toString("base64url")].join(".");
  }

  /** The plain secret, or null when the value was sealed under another key, altered, or bound to another row. */
  open(sealed: string, boundTo: string): string | null {
    const [version, iv, tag, ct] = sealed.split(".");
    if (version !== "v1" || iv === undefined || tag === undefined || ct === undefined) return null;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#key, Buffer.from(iv, "base64url"));
      decipher.setAAD(Buffer.from(boundTo, "utf8"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(ct, "base64url")), decipher.final()]).toString("utf8");
    } catch {
      return null;
    }
  }
}
