import type { CloseOutRequest } from '../domain/close-out.js';
import type { TraderSignal } from '../domain/signal.js';
import { decodeLiquidationEntry, type LiquidationEntry } from './risk-events.js';
import { checkSignal, INSTRUMENT, isId } from './signal-schema.js';

/**
 * The stream `{prefix}:copy:signals` and its entries, and the keys the ingress keeps. Pure.
 *
 * An entry is one field `m` holding a JSON array (as in the settlement streams: one string
 * for Redis to store and for ioredis to parse):
 *
 *     m = [signalId, traderId, instrument, action, side, qty, price, leverage,
 *          positionBefore, filledMs, receivedMs, source, (liquidation)]
 *
 * The 13th, `true`, is there only on a close that is the trader's liquidation.
 *
 * `receivedMs` is the server's clock when the frame or event arrived: the fan-out measures
 * its latency from it. `source` is `ws` (a trader's frame) or `fill` (a trading-system fill).
 *
 * A copier's request to close its slices of a trader it stops following (close-out.ts)
 * travels in the same stream, one field `c`, so the fan-out takes it in turn with the
 * trader's signals and never closes a slice while a signal is changing it:
 *
 *     c = [requestId, copierId, traderId, requestedMs, (instrument, side)]
 *
 * A copier stop's trigger (stops.ts) is such a request too; a take profit or stop loss names
 * the one slice it closes by its instrument and side.
 *
 * So does a copier's own liquidation, one field `l` (risk-events.ts): processed once, in
 * order with the signals that change the same slices.
 */

export type SignalSource = 'ws' | 'fill';

export interface SignalEntry {
  readonly signal: TraderSignal;
  /** when tradeflow received the signal (epoch ms) */
  readonly receivedMs: number;
  readonly source: SignalSource;
}

export const signalStreamKey = (prefix: string): string => `${prefix}:copy:signals`;
/** Present while a signal id is remembered; its value is the id of the stream entry. */
export const seenKey = (prefix: string, traderId: string, signalId: string): string =>
  `${prefix}:copy:seen:${traderId}:${signalId}`;
/** Fill events that could not be read, with the reason (capped). */
export const signalDeadLetterKey = (prefix: string): string => `${prefix}:copy:signals:dead`;

export interface CloseOutEntry {
  readonly closeOut: CloseOutRequest;
}

export function encodeCloseOutEntry(r: CloseOutRequest): string[] {
  const only = r.slice === undefined ? [] : [r.slice.instrument, r.slice.side];
  return ['c', JSON.stringify([r.requestId, r.copierId, r.traderId, r.requestedMs, ...only])];
}

/** Any entry of the stream: a signal, a close-out, or a copier's liquidation; a malformed one yields the reason. */
export function decodeCopyEntry(
  fields: readonly string[],
): SignalEntry | CloseOutEntry | LiquidationEntry | { error: string } {
  if (fields.length === 2 && fields[0] === 'l') return decodeLiquidationEntry(fields[1] as string);
  if (fields.length !== 2 || fields[0] !== 'c') return decodeSignalEntry(fields);
  let v: unknown;
  try {
    v = JSON.parse(fields[1] as string);
  } catch {
    return { error: 'field c is not JSON' };
  }
  if (!Array.isArray(v) || (v.length !== 4 && v.length !== 6))
    return { error: 'field c is not an array of 4 (6 for one slice)' };
  const [requestId, copierId, traderId, requestedMs, instrument, side] = v as unknown[];
  if (!isId(requestId) || !isId(copierId) || !isId(traderId)) return { error: 'field c: bad id' };
  if (typeof requestedMs !== 'number' || !Number.isSafeInteger(requestedMs)) {
    return { error: `bad requestedMs ${String(requestedMs)}` };
  }
  if (v.length === 4) return { closeOut: { requestId, copierId, traderId, requestedMs } };
  if (typeof instrument !== 'string' || !INSTRUMENT.test(instrument))
    return { error: 'field c: bad instrument' };
  if (side !== 'long' && side !== 'short') return { error: `field c: bad side ${String(side)}` };
  return { closeOut: { requestId, copierId, traderId, requestedMs, slice: { instrument, side } } };
}

export function encodeSignalEntry(e: SignalEntry): string[] {
  const s = e.signal;
  return [
    'm',
    JSON.stringify([
      s.signalId,
      s.traderId,
      s.instrument,
      s.action,
      s.side,
      s.qty,
      s.price,
      s.leverage,
      s.positionBefore,
      s.filledMs,
      e.receivedMs,
      e.source,
      ...(s.liquidation === true ? [true] : []),
    ]),
  ];
}

/** Decodes a stream entry's fields; a malformed entry yields the reason instead. */
export function decodeSignalEntry(fields: readonly string[]): SignalEntry | { error: string } {
  if (fields.length !== 2 || fields[0] !== 'm') return { error: 'expected one field m' };
  let v: unknown;
  try {
    v = JSON.parse(fields[1] as string);
  } catch {
    return { error: 'field m is not JSON' };
  }
  if (!Array.isArray(v) || (v.length !== 12 && v.length !== 13))
    return { error: 'field m is not an array of 12 (13 for a liquidation)' };
  const [
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
    receivedMs,
    source,
    liquidation,
  ] = v as unknown[];
  if (v.length === 13 && liquidation !== true) return { error: `bad liquidation ${String(liquidation)}` };
  const checked = checkSignal({
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
  });
  if (!checked.ok) return { error: `${checked.error.path ?? 'signal'}: ${checked.error.message}` };
  if (typeof receivedMs !== 'number' || !Number.isSafeInteger(receivedMs)) {
    return { error: `bad receivedMs ${String(receivedMs)}` };
  }
  if (source !== 'ws' && source !== 'fill') return { error: `bad source ${String(source)}` };
  return { signal: checked.value, receivedMs, source };
}
