import type { OrderSide } from '../../clients/exchange-wire.js';
import type { Units } from './fixed.js';

/**
 * The fill decision of an order, pure: whether a limit allows the fill price, and how much of
 * an order the liquidity lets fill. Both apply at the one fill price of the moment (the sim
 * has no book to walk), so an order fills at that price or not at all, and a cut by liquidity
 * is the only partial fill.
 */

/** A buy fills at or below its limit, a sell at or above; no limit (a market order) always. */
export function withinLimit(side: OrderSide, fillPrice: Units, limit: Units | undefined): boolean {
  if (limit === undefined) return true;
  return side === 'buy' ? fillPrice <= limit : fillPrice >= limit;
}

/** What of `wanted` contracts fills when at most `liquidity` are available per order (undefined: unlimited). */
export function fillableQty(wanted: Units, liquidity: Units | undefined): Units {
  return liquidity === undefined || wanted <= liquidity ? wanted : liquidity;
}

/**
 * The close and open parts of a fill of `filled` contracts: the close goes first, as it would
 * on an exchange matching the whole order, so a cut order reduces before it opens.
 */
export function splitFill(closeQty: Units, openQty: Units, filled: Units): { close: Units; open: Units } {
  const close = filled < closeQty ? filled : closeQty;
  const open = filled - close < openQty ? filled - close : openQty;
  return { close, open };
}
