// Signed, expiring media links. A token names one recording (its path inside
// RECORDINGS_DIR) and an expiry, and carries an HMAC-SHA256 of both under the
// link secret: changing either byte of it, or presenting a token made under
// another secret (another instance, a previous run), fails the check. The secret
// is random per start unless RECORDINGS_LINK_SECRET fixes it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DateTime } from 'luxon';

export type LinkCheck = { ok: true; file: string; expiresAt: number } | { ok: false; why: 'malformed' | 'bad_signature' | 'expired' };

const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export class LinkSigner {
  private readonly secret: Buffer;

  /** `secret` undefined: 32 random bytes, so links die with this process. */
  constructor(secret?: string) {
    this.secret = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8');
  }

  /** A token for `file` valid until `expiresAt` (second precision). */
  sign(file: string, expiresAt: DateTime): string {
    const payload = b64(JSON.stringify({ v: 1, f: file, e: Math.floor(expiresAt.toSeconds()) }));
    return `${payload}.${b64(this.mac(payload))}`;
  }

  verify(token: string, now: DateTime): LinkCheck {
    const m = /^([A-Za-z0-9_-]{1,2048})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!m) return { ok: false, why: 'malformed' };
    // Compare the text, not decoded bytes: base64url's last character carries spare
    // bits, and a decoder ignores them, so another spelling of the same MAC must fail too.
    // Both are 43 ASCII characters; compared in constant time.
    const given = Buffer.from(m[2]!, 'ascii');
    const want = Buffer.from(b64(this.mac(m[1]!)), 'ascii');
    if (given.length !== want.length || !timingSafeEqual(given, want)) return { ok: false, why: 'bad_signature' };
    let claims: { v?: unknown; f?: unknown; e?: unknown };
    try {
      claims = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      return { ok: false, why: 'malformed' };
    }
    if (claims.v !== 1 || typeof claims.f !== 'string' || typeof claims.e !== 'number') return { ok: false, why: 'malformed' };
    if (now.toSeconds() >= claims.e) return { ok: false, why: 'expired' };
    return { ok: true, file: claims.f, expiresAt: claims.e };
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.secret).update(`sticky-router media v1\n${payload}`).digest();
  }
}
