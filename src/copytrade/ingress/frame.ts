import type { TraderSignal } from '../domain/signal.js';
import { type IngressError, ingressError } from './errors.js';
import { FILL_SIGNAL_PREFIX, type LeadView } from './fill-filter.js';
import { checkSignal, isId } from './signal-schema.js';
import { frameSignature, isSignatureShape, verifyFrameSignature } from './signature.js';

/**
 * A trader's frame on the WebSocket `/traders`, one signal per text frame:
 *
 *     {"ts":1764000000000,"sig":"<64 hex>","payload":"{\"signalId\":\"s1\",...}"}
 *
 * - `ts`: the client's clock when it signed (epoch ms, integer);
 * - `payload`: the TraderSignal as a JSON text, carried as a string so that the bytes signed
 *   are exactly the bytes checked (no canonical JSON needed on either side);
 * - `sig`: see signature.ts.
 *
 * The server answers each frame with one frame:
 *
 *     {"type":"ack","signalId":"s1","receivedMs":1764000000012,"duplicate":false}
 *     {"type":"error","code":"WRONG_TRADER","message":"...","path":"payload.traderId","signalId":"s1"}
 *
 * Pure: no I/O; the server passes the bytes, the connection's credentials and its clock.
 */

export interface FrameAuth {
  /** the trader authenticated on this connection */
  readonly traderId: string;
  readonly secret: string;
}

export interface FrameLimits {
  /** a frame larger than this is refused before it is parsed */
  readonly maxBytes: number;
  /** how far `ts` (and a signal's `filledMs` into the future) may be from the server's clock */
  readonly maxSkewMs: number;
}

export type FrameVerdict =
  | { ok: true; signal: TraderSignal }
  | { ok: false; error: IngressError; signalId?: string };

const ENVELOPE = new Set(['ts', 'sig', 'payload']);

/** Checks one frame, in order: size, JSON, envelope, signature, clock skew, signal, trader. */
export function readFrame(
  bytes: Uint8Array,
  auth: FrameAuth,
  receivedMs: number,
  limits: FrameLimits,
): FrameVerdict {
  // 1. size, before anything is decoded
  if (bytes.byteLength > limits.maxBytes) {
    return fail(ingressError('FRAME_TOO_LARGE', `frame exceeds ${limits.maxBytes} bytes`));
  }
  // 2. JSON
  let frame: unknown;
  try {
    frame = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return fail(ingressError('BAD_JSON', 'frame is not JSON'));
  }
  // 3. envelope
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
    return fail(ingressError('BAD_FRAME', 'expected an object {ts, sig, payload}'));
  }
  const f = frame as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (!ENVELOPE.has(key)) return fail(ingressError('BAD_FRAME', 'unknown field', key));
  }
  const { ts, sig, payload } = f;
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts <= 0) {
    return fail(ingressError('BAD_FRAME', 'expected epoch milliseconds (integer)', 'ts'));
  }
  if (!isSignatureShape(sig))
    return fail(ingressError('BAD_FRAME', 'expected 64 lowercase hex digits', 'sig'));
  if (typeof payload !== 'string') {
    return fail(ingressError('BAD_FRAME', 'expected the signal as a JSON string', 'payload'));
  }
  // 4. signature, over the exact payload string
  if (!verifyFrameSignature(auth.secret, ts, payload, sig)) {
    return fail(ingressError('BAD_SIGNATURE', 'sig is not HMAC-SHA256(secret, ts + "." + payload)'), payload);
  }
  // 5. clock skew: a captured frame cannot be replayed later than this (and within it, its
  //    signal id is a duplicate)
  if (Math.abs(receivedMs - ts) > limits.maxSkewMs) {
    return fail(
      ingressError(
        'STALE_FRAME',
        `ts is ${receivedMs - ts} ms from the server clock (±${limits.maxSkewMs})`,
        'ts',
      ),
      payload,
    );
  }
  // 6. the signal
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return fail(ingressError('BAD_JSON', 'payload is not JSON', 'payload'));
  }
  const checked = checkSignal(value, 'payload');
  if (!checked.ok) return fail(checked.error, payload, value);
  const signal = checked.value;
  if (signal.signalId.startsWith(FILL_SIGNAL_PREFIX)) {
    return fail(
      ingressError(
        'INVALID_SIGNAL',
        `ids starting ${FILL_SIGNAL_PREFIX} are kept for exchange fills`,
        'payload.signalId',
      ),
      payload,
      value,
    );
  }
  // a trader could otherwise mark any close a liquidation, and its lead policy keep would
  // leave its copiers holding what it closed
  if (signal.liquidation === true) {
    return fail(
      ingressError(
        'INVALID_SIGNAL',
        "a liquidation comes from the trading system's fills, not from a trader",
        'payload.liquidation',
      ),
      payload,
      value,
    );
  }
  if (signal.filledMs > receivedMs + limits.maxSkewMs) {
    return fail(
      ingressError('INVALID_SIGNAL', 'filledMs is in the future', 'payload.filledMs'),
      payload,
      value,
    );
  }
  // 7. a trader signs for itself only
  if (signal.traderId !== auth.traderId) {
    return fail(
      ingressError(
        'WRONG_TRADER',
        'the signal is for another trader than this connection',
        'payload.traderId',
      ),
      payload,
      value,
    );
  }
  return { ok: true, signal };
}

/**
 * A verified frame's signal against what its trader leads (lead settings, held in memory):
 * a lead whose signals are its fills sends none by frame (its trade would be copied twice),
 * and a lead's frame is for an instrument it leads, as its fills are. Undefined: it passes.
 */
export function checkLead(signal: TraderSignal, lead: LeadView): IngressError | undefined {
  if (lead.signalSource !== 'frames') {
    return ingressError(
      'WRONG_SOURCE',
      `${signal.traderId}'s signals come from its fills on the exchange, not from frames`,
    );
  }
  if (!lead.instruments.has(signal.instrument)) {
    return ingressError(
      'NOT_LED_INSTRUMENT',
      `${signal.traderId} does not lead ${signal.instrument}`,
      'payload.instrument',
    );
  }
  return undefined;
}

/**
 * The error verdict, with the signal id when one can be read from the payload (so that the
 * client can tell which of its frames was refused). An id read from an unverified payload is
 * only echoed, never trusted.
 */
function fail(error: IngressError, payload?: string, parsed?: unknown): FrameVerdict {
  const signalId = payload === undefined ? undefined : peekSignalId(payload, parsed);
  return signalId === undefined ? { ok: false, error } : { ok: false, error, signalId };
}

function peekSignalId(payload: string, parsed: unknown): string | undefined {
  let v = parsed;
  if (v === undefined) {
    try {
      v = JSON.parse(payload);
    } catch {
      return undefined;
    }
  }
  const id = typeof v === 'object' && v !== null ? (v as { signalId?: unknown }).signalId : undefined;
  return isId(id) ? id : undefined;
}

/** A signed frame, as a client builds it (clients in other languages: see signature.ts). */
export function buildFrame(secret: string, signal: TraderSignal, ts: number): string {
  const payload = JSON.stringify(signal);
  return JSON.stringify({ ts, sig: frameSignature(secret, ts, payload), payload });
}

export const ackFrame = (signalId: string, receivedMs: number, duplicate: boolean): string =>
  JSON.stringify({ type: 'ack', signalId, receivedMs, duplicate });

export const errorFrame = (error: IngressError, signalId?: string): string =>
  JSON.stringify({ type: 'error', ...error, ...(signalId === undefined ? {} : { signalId }) });

/** The frames the server sends, as a client reads them. */
export type ServerFrame =
  | { type: 'ack'; signalId: string; receivedMs: number; duplicate: boolean }
  | { type: 'error'; code: IngressError['code']; message: string; path?: string; signalId?: string };
