import { abs, type Fx, fx } from './fixed.js';
import type { PositionMode } from './settings.js';
import type { PositionSide, SignalAction } from './signal.js';
import type { Slice } from './slices.js';

/**
 * How a slice's open or close becomes an exchange order, in each position mode.
 *
 * Hedge mode: the exchange holds a long and a short position per instrument, each the sum
 * of the copier's slices on that side. An open is buy-long / sell-short; a close is
 * sell-long / buy-short with reduceOnly. Slices of one side only shrink their own side's
 * position, so a close always truly reduces.
 *
 * One-way mode: the exchange holds one net position per instrument, the sum of the signed
 * slices (long +, short −) of every trader the copier follows there. A copier following A
 * (long) and B (short) on one instrument may be net long, net short or flat while both
 * slices are open. Each slice's order is still a buy or sell of exactly that slice's
 * quantity (open long / close short: buy; open short / close long: sell), so the exchange
 * position stays the sum of the slices.
 * - reduceOnly is set only on a close that truly reduces the net position: it points
 *   against the net and is no larger than it. Then, if the exchange position is gone
 *   (liquidated, closed by hand), the exchange refuses the order instead of opening the
 *   opposite position.
 * - A close that points with the net, or crosses it (closing A's long 2 while B's short
 *   makes the net +1), has to open exposure on the exchange; reduceOnly would make the
 *   exchange refuse or shrink it, and the slices would no longer add up. It goes without.
 * - Opens never carry reduceOnly: an open must move the exchange position by its whole
 *   quantity, even where it nets against another trader's slice.
 *
 * Margin follows the exchange, not the slices: in one-way mode an order needs margin only
 * for the growth of |net| (`exposureQty`); an open that nets needs none but its fee.
 *
 * PnL: the exchange realises PnL on the net position, so where slices net, the exchange
 * realises PnL at other moments than the slices do; but every order belongs to one slice,
 * so once the slices are closed their PnL adds up to the exchange's, fees aside.
 *
 * Limits: slices are netted per instrument, whatever the follows' margin modes; an account
 * whose follows mix cross and isolated on one instrument in one-way mode (two exchange
 * positions) is not modelled, and is to be refused where follows are stored.
 */
export type OrderSide = 'buy' | 'sell';
export type PosSide = PositionSide | 'net';

export interface ExchangeLeg {
  orderSide: OrderSide;
  posSide: PosSide;
  reduceOnly: boolean;
  /** contracts (fixed.ts units) by which the exchange exposure grows: margin is needed for these only */
  exposureQty: Fx;
}

/** The copier's net position on `instrument` in contracts (fixed.ts units): Σ long − Σ short slices. */
export function netPosition(slices: readonly Slice[], instrument: string): Fx {
  let net = 0n;
  for (const s of slices) {
    if (s.instrument !== instrument || s.qty === '0') continue;
    net += s.side === 'long' ? fx(s.qty) : -fx(s.qty);
  }
  return net;
}

/**
 * The exchange order that opens or closes `qty` of a slice on `side`; `net` (one-way mode
 * only) is the copier's net position before the order. Quantities in fixed.ts units.
 */
export function exchangeLeg(
  mode: PositionMode,
  action: SignalAction,
  side: PositionSide,
  qty: Fx,
  net: Fx,
): ExchangeLeg {
  const buys = (side === 'long') === (action === 'open');
  const orderSide: OrderSide = buys ? 'buy' : 'sell';
  if (mode === 'hedge') {
    return action === 'open'
      ? { orderSide, posSide: side, reduceOnly: false, exposureQty: qty }
      : { orderSide, posSide: side, reduceOnly: true, exposureQty: 0n };
  }
  const after = buys ? net + qty : net - qty;
  const grows = abs(after) - abs(net);
  const againstNet = buys ? net < 0n : net > 0n;
  const trulyReduces = againstNet && qty <= abs(net);
  return {
    orderSide,
    posSide: 'net',
    reduceOnly: action === 'close' && trulyReduces,
    exposureQty: grows > 0n ? grows : 0n,
  };
}
