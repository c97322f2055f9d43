import { createHash, randomUUID } from "node:crypto";
import { SignJWT, jwtVerify, decodeJwt, errors } from "jose";
import type { SigningKey } from "./keys.ts";

/** Issuer and audience the official Trigger.dev SDK puts in tokens it signs itself. */
export const JWT_ISSUER = "https://id.trigger.dev";
export const JWT_AUDIENCE = "https://api.trigger.dev";

export interface PublicTokenClaims {
  /** Environment id. */
  sub: string;
  pub: true;
  scopes: string[];
  realtime?: { skipColumns?: string[] };
  otu?: boolean;
}

/** A public token may live at most this long from the moment it is used (the official SDK's own limit for minted tokens). */
export const MAX_TOKEN_LIFETIME_S = 30 * 86_400;
/** Clock skew tolerated between whoever signed a token and this server. */
const CLOCK_SKEW_S = 60;

/** What a verified token says, and which key verified it. */
export interface VerifiedToken {
  claims: PublicTokenClaims;
  /** The signing key's id: revoking it ends the token's requests. */
  keyId: string;
  /** sha256 of the token: names it for one-time use and per-token limits without keeping it. */
  tokenHash: string;
  /** Unix seconds. */
  expiresAt: number;
}

/**
 * Names a token for one-time use and per-token limits. Several spellings of one signature verify (the spare bits
 * of its last base64url character, a trailing `=`), so the name is taken from the signed part and the
 * signature's bytes, not from the string as sent.
 */
export function tokenHash(token: string): string {
  const last = token.lastIndexOf(".");
  const signature = Buffer.from(token.slice(last + 1).replace(/=+$/, ""), "base64url");
  return createHash("sha256").update(token.slice(0, last), "utf8").update("\u0000").update(signature).digest("hex");
}

export class TokenError extends Error {
  readonly reason: "expired" | "invalid";
  constructor(reason: "expired" | "invalid", message: string) {
    super(message);
    this.name = "TokenError";
    this.reason = reason;
  }
}

/** Signs a public access token (HS256 with the environment's secret key). */
export async function signPublicToken(
  secretKey: string,
  claims: Omit<PublicTokenClaims, "pub">,
  expiresIn: string | number | Date = "1h",
): Promise<string> {
  return new SignJWT({ ...claims, pub: true })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(JWT_ISSUER)
    .setAudience(JWT_AUDIENCE)
    .setIssuedAt()
    // Two tokens signed in the same second with the same claims are still two tokens (one-time use, limits).
    .setJti(randomUUID())
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secretKey));
}

/** Reads `sub` without verifying, to find which environment's key verifies the token. */
export function unverifiedSubject(token: string): string | null {
  try {
    const payload = decodeJwt(token);
    return typeof payload.sub === "string" && payload.pub === true ? payload.sub : null;
  } catch {
    return null;
  }
}

/**
 * Verifies against any of the environment's keys; throws TokenError. A token must carry `exp`, no further
 * than MAX_TOKEN_LIFETIME_S ahead: tokens that never expire are refused.
 */
export async function verifyPublicToken(token: string, keys: readonly SigningKey[], nowS = Math.floor(Date.now() / 1000)): Promise<VerifiedToken> {
  let expired = false;
  for (const key of keys) {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, new TextEncoder().encode(key.secret), {
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
        algorithms: ["HS256"],
        requiredClaims: ["exp"],
        clockTolerance: CLOCK_SKEW_S,
        currentDate: new Date(nowS * 1000),
      }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) expired = true;
      else if (err instanceof errors.JWTClaimValidationFailed && err.claim === "exp") {
        throw new TokenError("invalid", "public access token has no expiry (exp): tokens must expire; sign it with an expirationTime");
      }
      continue;
    }
    if (payload.pub !== true || typeof payload.sub !== "string") throw new TokenError("invalid", "not a public access token");
    const exp = payload.exp as number;
    if (exp > nowS + MAX_TOKEN_LIFETIME_S + CLOCK_SKEW_S) {
      throw new TokenError("invalid", `public access token lives too long: its expiry (exp) may be at most ${MAX_TOKEN_LIFETIME_S / 86_400} days ahead`);
    }
    const scopes = Array.isArray(payload.scopes) ? payload.scopes.filter((s): s is string => typeof s === "string") : [];
    const claims: PublicTokenClaims = { sub: payload.sub, pub: true, scopes };
    const realtime = payload.realtime as PublicTokenClaims["realtime"] | undefined;
    if (realtime && typeof realtime === "object") claims.realtime = realtime;
    if (payload.otu === true) claims.otu = true;
    return { claims, keyId: key.id, tokenHash: tokenHash(token), expiresAt: exp };
  }
  throw expired
    ? new TokenError("expired", "public access token has expired: ask your backend for a new one (auth.createPublicToken)")
    : new TokenError("invalid", "public access token is invalid (bad signature, issuer or audience): use a token signed by a current secret key of this environment");
}
