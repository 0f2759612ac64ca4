// Bearer tokens per (realm, service, scopes), kept until shortly before they expire.

/** A cached token and when to stop using it (ms since epoch). */
interface Entry {
  token: string;
  expiresAt: number;
}

/** The spec's default lifetime when a token server names none (token spec: `expires_in`, default 60 s). */
export const DEFAULT_TOKEN_SECONDS = 60;
/** Stop using a token this long before it expires, so it does not lapse in flight. */
const MARGIN_MS = 5000;

/** The cache key for a token: scopes are a set, so their order does not matter. */
export function tokenKey(realm: string, service: string | undefined, scopes: string[]): string {
  return JSON.stringify([realm, service ?? '', [...new Set(scopes)].sort()]);
}

/** Bearer tokens by key; `now` is injectable for tests. */
export class TokenCache {
  private readonly entries = new Map<string, Entry>();
  constructor(private readonly now: () => number = Date.now) {}

  /** The token for `key`, unless it is missing or about to expire. */
  get(key: string): string | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.now() >= e.expiresAt) {
      this.entries.delete(key);
      return undefined;
    }
    return e.token;
  }

  /**
   * Keep `token` for `expiresIn` seconds from `issuedAt` (the server's clock, when given and sane; else now).
   * A lifetime under the margin is still used once: its expiry is then half its lifetime.
   */
  set(key: string, token: string, expiresIn?: number, issuedAt?: string): void {
    const seconds = expiresIn && expiresIn > 0 ? expiresIn : DEFAULT_TOKEN_SECONDS;
    const now = this.now();
    let start = now;
    if (issuedAt) {
      const t = Date.parse(issuedAt);
      // A server clock ahead of ours would extend the token's life here; only trust it going backwards.
      if (Number.isFinite(t) && t < now) start = t;
    }
    const lifeMs = seconds * 1000;
    const margin = lifeMs > 2 * MARGIN_MS ? MARGIN_MS : lifeMs / 2;
    this.entries.set(key, { token, expiresAt: start + lifeMs - margin });
  }

  /** Forget `key` (a token the registry refused). */
  delete(key: string): void {
    this.entries.delete(key);
  }
}
