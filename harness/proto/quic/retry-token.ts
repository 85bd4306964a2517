/**
 * Stateless retry tokens (RFC 9000 §8.1.2): the server answers a client's first Initial with a
 * Retry carrying a token; the client repeats its Initial with the token, which proves it receives
 * packets at its claimed address. The token holds the issue time and the original DCID, with an
 * HMAC binding both to the client's address; only this server's key can mint or validate it.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { HostPort } from './binding.js';

/** Retry tokens are valid this long, ms. */
const RETRY_TOKEN_LIFETIME_MS = 10_000;

/** Mints and validates one server's retry tokens. */
export class RetryTokens {
  private readonly key = randomBytes(32);

  /** Retry token: issue time, original DCID, and an HMAC binding both to the client's address. */
  mint(from: HostPort, odcid: Uint8Array): Buffer {
    const t = Buffer.alloc(8);
    t.writeDoubleBE(Date.now());
    const body = Buffer.concat([t, Buffer.from([odcid.length]), odcid]);
    const mac = createHmac('sha256', this.key).update(`${from.host}:${from.port}`).update(body).digest();
    return Buffer.concat([body, mac.subarray(0, 16)]);
  }

  /** The original DCID a valid, unexpired token from `from` carries, or null. */
  validate(from: HostPort, token: Uint8Array): Uint8Array | null {
    const b = Buffer.from(token.buffer, token.byteOffset, token.byteLength);
    if (b.length < 9 + 16) return null;
    const len = b[8] ?? 0;
    if (b.length !== 9 + len + 16) return null;
    const body = b.subarray(0, 9 + len);
    const mac = createHmac('sha256', this.key).update(`${from.host}:${from.port}`).update(body).digest();
    if (!mac.subarray(0, 16).equals(b.subarray(9 + len))) return null;
    if (Date.now() - b.readDoubleBE(0) > RETRY_TOKEN_LIFETIME_MS) return null;
    return Uint8Array.from(b.subarray(9, 9 + len));
  }
}
