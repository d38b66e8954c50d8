import { ceilDiv, ceilTo, type Fx, floorTo, ONE } from './fixed.js';
import type { OrderSide } from './netting.js';

/**
 * The limit of a copied open: the worst price the copier accepts, maxSlippage away from the
 * trader's fill. The open is sent as an IOC limit order at this price, so the bound holds at
 * the fill too, not only at sizing (the price may move in between).
 *
 * A buy may pay at most fill × (1 + s), rounded DOWN to the tick; a sell may get no less
 * than fill × (1 − s), rounded UP: rounding only tightens the bound, never widens it. Exact:
 * the product is at scale 10^36, divided once (floor for the buy; ceiling for the sell), and
 * rounding the floor (ceiling) to a tick that is a multiple of 10^-18 gives the floor
 * (ceiling) of the exact value. With fill > 0 and s < 1 (settings allow at most 0.03) the
 * sell's limit is at least one tick.
 */
export function entryLimitPrice(orderSide: OrderSide, fill: Fx, maxSlippage: Fx, tick: Fx): Fx {
  if (orderSide === 'buy') return floorTo((fill * (ONE + maxSlippage)) / ONE, tick);
  return ceilTo(ceilDiv(fill * (ONE - maxSlippage), ONE), tick);
}
