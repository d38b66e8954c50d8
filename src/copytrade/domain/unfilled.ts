import type { CopyOrder } from './copy-order.js';
import { fx } from './fixed.js';
import type { CopySkip } from './skip-reasons.js';

/**
 * What of a copy order the exchange did not fill, as a skip the copier sees: nothing filled
 * (an IOC open whose fill price was beyond its limit: 'not-filled-at-bound'), or the part
 * of a partly filled order it canceled ('unfilled-remainder'). The detail names the
 * exchange's cancel reason and the prices, so the copier can tell a move from thin
 * liquidity. Pure; null when everything asked filled.
 */
export interface ExchangeAnswer {
  /** contracts filled, "0" when canceled */
  qty: string;
  /** contracts canceled; an answer without it canceled nothing */
  remainingQty: string | undefined;
  /** the exchange's code: PRICE_BEYOND_LIMIT, INSUFFICIENT_LIQUIDITY */
  cancelReason?: string;
  /** the fill price; for a cancel, the price it would have filled at */
  price: string;
  canceled: boolean;
}

/** Whether the exchange left any of the order unfilled (canceled whole, or a remainder canceled). */
export const leftUnfilled = (a: ExchangeAnswer): boolean =>
  a.canceled || (a.remainingQty !== undefined && fx(a.remainingQty) !== 0n);

export function unfilledSkip(o: CopyOrder, a: ExchangeAnswer, leadPrice: string | null): CopySkip | null {
  if (!leftUnfilled(a)) return null;
  const why = a.cancelReason ?? 'CANCELED';
  const limit = o.limitPrice === undefined ? 'at market' : `limit ${o.limitPrice}`;
  const lead = leadPrice === null ? '' : `, lead ${leadPrice}`;
  const beyond = a.canceled && why === 'PRICE_BEYOND_LIMIT';
  const detail = a.canceled
    ? `${why}: ${o.orderSide} ${o.qty} ${limit}, fill price ${a.price}${lead}`
    : `${why}: ${a.qty} of ${o.qty} filled at ${a.price}, ${a.remainingQty ?? '?'} canceled, ${limit}${lead}`;
  return {
    signalId: o.signalId,
    copierId: o.copierId,
    traderId: o.traderId,
    instrument: o.instrument,
    reason: beyond ? 'not-filled-at-bound' : 'unfilled-remainder',
    detail,
  };
}
