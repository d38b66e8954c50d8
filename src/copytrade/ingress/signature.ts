import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signature of a frame: lowercase hex of HMAC-SHA256, keyed with the UTF-8 bytes of the
 * trader's API secret, over the UTF-8 bytes of
 *
 *     `${ts}.${payload}`
 *
 * where `ts` is the frame's timestamp written as a base-10 integer (no sign, fraction or
 * exponent) and `payload` is the frame's payload string exactly as sent (the JSON text of
 * the signal, before it is escaped into the frame). Any HMAC library can produce it:
 *
 *     payload = JSON.stringify(signal); ts = Date.now()
 *     sig = hex(hmac_sha256(secret, ts + "." + payload))
 *     send(JSON.stringify({ ts, sig, payload }))
 */
export function frameSignature(secret: string, ts: number, payload: string): string {
  return createHmac('sha256', secret).update(`${ts}.${payload}`).digest('hex');
}

const HEX64 = /^[0-9a-f]{64}$/;

export const isSignatureShape = (sig: unknown): sig is string => typeof sig === 'string' && HEX64.test(sig);

/** Whether `sig` (64 lowercase hex digits) signs `{ts}.{payload}`; compared in constant time. */
export function verifyFrameSignature(secret: string, ts: number, payload: string, sig: string): boolean {
  if (!HEX64.test(sig)) return false;
  const expected = createHmac('sha256', secret).update(`${ts}.${payload}`).digest();
  return timingSafeEqual(expected, Buffer.from(sig, 'hex'));
}
