import { isAmount } from '../../domain/money.js';
import type { CopierLiquidation } from '../domain/liquidation.js';
import { isId, MAX_LEVERAGE } from './signal-schema.js';

/**
 * The trading system's events that are about risk rather than a lead's trading, read off the
 * same feed as the fills (fill-intake.ts). Pure.
 *
 * - A liquidation's fill (`"liquidation":true`), of any account: a copier's own liquidation
 *   goes to the fan-out as a request of its own (the stream field `l`, below), which finds
 *   the copier of the account, if any. A lead's liquidation is also its signal (fill-filter.ts).
 * - A margin change of a position (`"type":"margin"`, the simulator's POST /exchange/margin):
 *   a lead's tells its copiers (notices/margin-notices.ts).
 *
 * Both are rare, so the raw text is only parsed when it may hold one (mayBeRiskEvent).
 *
 * The stream entry of a copier's liquidation, one field `l`, a JSON array:
 *
 *     l = [fillId, account, instrument, side, qty, price, leverage, filledMs, receivedMs]
 */

/** A lead's (or anyone's) position got margin added: its new margin and liquidation price. */
export interface MarginAdded {
  readonly eventId: string;
  readonly account: string;
  readonly instrument: string;
  readonly side: 'long' | 'short';
  readonly margin: string;
  readonly liquidationPrice: string;
  readonly atMs: number;
}

export type RiskEvent =
  | { readonly kind: 'liquidation'; readonly liquidation: CopierLiquidation }
  | { readonly kind: 'margin'; readonly margin: MarginAdded };

export interface LiquidationEntry {
  readonly liquidation: CopierLiquidation;
  readonly receivedMs: number;
}

/** `{account}` or `{account}/{sub}`, as the exchange names accounts */
const ACCOUNT = /^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,63}$/;
const INSTRUMENT = /^[A-Z0-9]{1,16}(-[A-Z0-9]{1,16}){0,3}$/;
/** what a price may be: ≥ 0 ("0": never liquidated) */
const PRICE = /^\d{1,18}(\.\d{1,18})?$/;

/** Whether raw event text may be a risk event: a cheap look before any parse. */
export const mayBeRiskEvent = (text: string): boolean =>
  text.includes('"liquidation":true') || text.includes('"type":"margin"');

/** Whether a parsed event may be one. */
export const mayBeRiskObject = (event: unknown): boolean =>
  typeof event === 'object' &&
  event !== null &&
  ((event as Record<string, unknown>).liquidation === true ||
    (event as Record<string, unknown>).type === 'margin');

/** The risk event `event` is, undefined when it is none, or why it cannot be read. */
export function riskEventOf(event: unknown): RiskEvent | { error: string } | undefined {
  if (!mayBeRiskObject(event)) return undefined;
  const e = event as Record<string, unknown>;
  if (e.type === 'fill') {
    const l = liquidationOf([
      e.fillId,
      e.account,
      e.instrument,
      e.side,
      e.qty,
      e.price,
      e.leverage,
      e.filledMs,
    ]);
    if ('error' in l) return l;
    if (e.action !== 'close') return { error: 'liquidation: only a close is a liquidation' };
    return { kind: 'liquidation', liquidation: l };
  }
  if (e.type !== 'margin') return undefined;
  const { eventId, account, instrument, side, margin, liquidationPrice, atMs } = e;
  if (!isId(eventId)) return { error: 'margin.eventId: expected an id' };
  if (typeof account !== 'string' || !ACCOUNT.test(account))
    return { error: 'margin.account: expected an account id' };
  if (typeof instrument !== 'string' || !INSTRUMENT.test(instrument))
    return { error: 'margin.instrument: bad instrument' };
  if (side !== 'long' && side !== 'short') return { error: 'margin.side: expected "long" or "short"' };
  if (!isAmount(margin)) return { error: 'margin.margin: expected a positive decimal string' };
  if (typeof liquidationPrice !== 'string' || !PRICE.test(liquidationPrice))
    return { error: 'margin.liquidationPrice: expected a decimal string ≥ 0' };
  if (typeof atMs !== 'number' || !Number.isSafeInteger(atMs) || atMs <= 0)
    return { error: 'margin.atMs: expected epoch ms' };
  return { kind: 'margin', margin: { eventId, account, instrument, side, margin, liquidationPrice, atMs } };
}

export function encodeLiquidationEntry(e: LiquidationEntry): string[] {
  const l = e.liquidation;
  return [
    'l',
    JSON.stringify([
      l.fillId,
      l.account,
      l.instrument,
      l.side,
      l.qty,
      l.price,
      l.leverage,
      l.filledMs,
      e.receivedMs,
    ]),
  ];
}

/** The stream entry's field `l` (its value), or why it cannot be read. */
export function decodeLiquidationEntry(value: string): LiquidationEntry | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    return { error: 'field l is not JSON' };
  }
  if (!Array.isArray(v) || v.length !== 9) return { error: 'field l is not an array of 9' };
  const l = liquidationOf(v.slice(0, 8));
  if ('error' in l) return l;
  const receivedMs = v[8];
  if (typeof receivedMs !== 'number' || !Number.isSafeInteger(receivedMs))
    return { error: 'l: bad receivedMs' };
  return { liquidation: l, receivedMs };
}

function liquidationOf(v: readonly unknown[]): CopierLiquidation | { error: string } {
  const [fillId, account, instrument, side, qty, price, leverage, filledMs] = v;
  const id = typeof fillId === 'number' && Number.isSafeInteger(fillId) ? String(fillId) : fillId;
  if (!isId(id)) return { error: 'liquidation.fillId: expected 1-64 characters of A-Z a-z 0-9 _ . -' };
  if (typeof account !== 'string' || !ACCOUNT.test(account))
    return { error: 'liquidation.account: expected an account id' };
  if (typeof instrument !== 'string' || !INSTRUMENT.test(instrument))
    return { error: 'liquidation.instrument: bad instrument' };
  if (side !== 'long' && side !== 'short') return { error: 'liquidation.side: expected "long" or "short"' };
  if (!isAmount(qty)) return { error: 'liquidation.qty: expected a positive decimal string' };
  if (!isAmount(price)) return { error: 'liquidation.price: expected a positive decimal string' };
  if (typeof leverage !== 'number' || !Number.isFinite(leverage) || leverage < 1 || leverage > MAX_LEVERAGE)
    return { error: `liquidation.leverage: expected a number from 1 to ${MAX_LEVERAGE}` };
  if (typeof filledMs !== 'number' || !Number.isSafeInteger(filledMs) || filledMs <= 0)
    return { error: 'liquidation.filledMs: expected epoch ms' };
  return { fillId: id, account, instrument, side, qty, price, leverage, filledMs };
}
