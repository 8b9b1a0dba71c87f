// The access settings of a deployment, from its environment (Node: process.env; Worker: vars and secrets):
//   LVM_API_KEYS      comma-separated keys; /v1/* then needs one (Authorization: Bearer <key> or x-api-key). Unset: open.
//   LVM_CORS_ORIGINS  comma-separated origins (https://app.example.com) allowed to call the API from a browser, or *. Unset: none.
//   LVM_RATE_LIMIT    <requests>/<seconds> per client (API key, else address), e.g. 600/60. Unset: no limit (Node).

/** The characters hono's bearerAuth accepts in a token (RFC 6750's b64token). */
const TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;

export interface AccessSettings {
  apiKeys: string[];
  corsOrigins: string[];
  rateLimit?: { requests: number; perSeconds: number };
}

const list = (value: string | undefined) =>
  (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** Reads and checks the settings; a malformed one is an error naming the variable. */
export function accessSettings(env: Record<string, string | undefined>): AccessSettings {
  const apiKeys = list(env.LVM_API_KEYS);
  for (const [i, key] of apiKeys.entries()) {
    if (!TOKEN.test(key))
      throw new Error(`LVM_API_KEYS: key ${i + 1} has characters a bearer token cannot carry (use A-Z a-z 0-9 . _ ~ + / -)`);
  }
  const corsOrigins = list(env.LVM_CORS_ORIGINS);
  for (const origin of corsOrigins) {
    let valid = origin === "*";
    try {
      valid ||= new URL(origin).origin === origin;
    } catch {}
    if (!valid)
      throw new Error(`LVM_CORS_ORIGINS: '${origin}' is not an origin like https://app.example.com (scheme, host, port; no path) or *`);
  }
  let rateLimit: AccessSettings["rateLimit"];
  if (env.LVM_RATE_LIMIT !== undefined && env.LVM_RATE_LIMIT !== "" && env.LVM_RATE_LIMIT !== "off") {
    const match = /^(\d+)\/(\d+(?:\.\d+)?)s?$/.exec(env.LVM_RATE_LIMIT.trim());
    const requests = Number(match?.[1]);
    const perSeconds = Number(match?.[2]);
    if (!match || requests < 1 || perSeconds <= 0) {
      throw new Error(`LVM_RATE_LIMIT must be <requests>/<seconds> per client, e.g. 600/60, got '${env.LVM_RATE_LIMIT}'`);
    }
    rateLimit = { requests, perSeconds };
  }
  return { apiKeys, corsOrigins, rateLimit };
}
