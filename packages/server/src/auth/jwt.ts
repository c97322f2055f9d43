import { SignJWT, jwtVerify, decodeJwt, errors } from "jose";

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

/** Verifies against any of the environment's keys; throws TokenError. */
export async function verifyPublicToken(token: string, keys: string[]): Promise<PublicTokenClaims> {
  let expired = false;
  for (const key of keys) {
    try {
      const { payload } = await jwtVerify(token, new TextEncoder().encode(key), {
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
        algorithms: ["HS256"],
      });
      if (payload.pub !== true || typeof payload.sub !== "string") throw new TokenError("invalid", "not a public access token");
      const scopes = Array.isArray(payload.scopes) ? payload.scopes.filter((s): s is string => typeof s === "string") : [];
      const claims: PublicTokenClaims = { sub: payload.sub, pub: true, scopes };
      const realtime = payload.realtime as PublicTokenClaims["realtime"] | undefined;
      if (realtime && typeof realtime === "object") claims.realtime = realtime;
      if (payload.otu === true) claims.otu = true;
      return claims;
    } catch (err) {
      if (err instanceof errors.JWTExpired) expired = true;
      else if (err instanceof TokenError) throw err;
    }
  }
  throw expired
    ? new TokenError("expired", "public access token has expired")
    : new TokenError("invalid", "public access token is invalid (bad signature, issuer or audience)");
}
