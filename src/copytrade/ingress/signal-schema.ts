import { isAmount, money } from '../../domain/money.js';
import type { TraderSignal } from '../domain/signal.js';
import { type IngressError, ingressError } from './errors.js';

/**
 * The schema of a TraderSignal, checked field by field in a fixed order so that the first
 * fault is always the one reported. Shared by the WebSocket frames, the fill-event filter
 * and the stream decoder. Pure.
 */

export type Checked<T> = { ok: true; value: T } | { ok: false; error: IngressError };

/**
 * Ids end up in Redis keys and in copiers' client order ids `{signalId}:{copierId}`, so they
 * are short and hold no `:`.
 */
const ID = /^[A-Za-z0-9_.-]{1,64}$/;
/** BTC-USDT-SWAP, ETHUSDT, ... */
export const INSTRUMENT = /^[A-Z0-9]{1,16}(-[A-Z0-9]{1,16}){0,3}$/;
/** a decimal string ≥ 0 that fits DECIMAL(36,18) */
const NON_NEGATIVE = /^\d{1,18}(\.\d{1,18})?$/;
export const MAX_LEVERAGE = 1000;

/** every field a signal may have */
export const SIGNAL_FIELDS: readonly (keyof TraderSignal)[] = [
  'signalId',
  'traderId',
  'instrument',
  'action',
  'side',
  'qty',
  'price',
  'leverage',
  'positionBefore',
  'filledMs',
  'liquidation',
];
const KNOWN = new Set<string>(SIGNAL_FIELDS);

export const isId = (v: unknown): v is string => typeof v === 'string' && ID.test(v);

const join = (prefix: string, field: string): string => (prefix === '' ? field : `${prefix}.${field}`);

/**
 * Checks that `value` is a TraderSignal: no unknown field, every field present and well
 * formed, and a close of no more than the position held. `prefix` is put before the field
 * names in the error path (`payload` for a frame).
 */
export function checkSignal(value: unknown, prefix = ''): Checked<TraderSignal> {
  const bad = (field: string, message: string): Checked<TraderSignal> => ({
    ok: false,
    error: ingressError('INVALID_SIGNAL', message, join(prefix, field)),
  });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: ingressError('INVALID_SIGNAL', 'expected an object', prefix || undefined) };
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) if (!KNOWN.has(key)) return bad(key, 'unknown field');

  const {
    signalId,
    traderId,
    instrument,
    action,
    side,
    qty,
    price,
    leverage,
    positionBefore,
    filledMs,
    liquidation,
  } = v;
  if (!isId(signalId)) return bad('signalId', 'expected 1-64 characters of A-Z a-z 0-9 _ . -');
  if (!isId(traderId)) return bad('traderId', 'expected 1-64 characters of A-Z a-z 0-9 _ . -');
  if (typeof instrument !== 'string' || !INSTRUMENT.test(instrument))
    return bad('instrument', 'expected an instrument like BTC-USDT-SWAP');
  if (action !== 'open' && action !== 'close') return bad('action', 'expected "open" or "close"');
  if (side !== 'long' && side !== 'short') return bad('side', 'expected "long" or "short"');
  if (!isAmount(qty)) return bad('qty', 'expected a positive decimal string');
  if (!isAmount(price)) return bad('price', 'expected a positive decimal string');
  if (typeof leverage !== 'number' || !Number.isFinite(leverage) || leverage < 1 || leverage > MAX_LEVERAGE)
    return bad('leverage', `expected a number from 1 to ${MAX_LEVERAGE}`);
  if (typeof positionBefore !== 'string' || !NON_NEGATIVE.test(positionBefore))
    return bad('positionBefore', 'expected a decimal string ≥ 0');
  if (action === 'close' && money(positionBefore).lt(money(qty)))
    return bad('positionBefore', 'a close of more than the position held');
  if (typeof filledMs !== 'number' || !Number.isSafeInteger(filledMs) || filledMs <= 0)
    return bad('filledMs', 'expected epoch milliseconds');
  if (liquidation !== undefined && typeof liquidation !== 'boolean')
    return bad('liquidation', 'expected a boolean');
  if (liquidation === true && action !== 'close') return bad('liquidation', 'only a close is a liquidation');

  // a copy of the fields just checked (no others are left); liquidation only when true
  const { liquidation: _, ...checked } = v;
  const signal = checked as unknown as TraderSignal;
  if (liquidation === true) signal.liquidation = true;
  return { ok: true, value: signal };
}
