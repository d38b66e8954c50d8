import { ceilDiv, ceilTo, type Fx, floorTo, fx, fxStr } from './fixed.js';
import type { PositionSide } from './signal.js';

/**
 * Take-profit and stop-loss trigger prices for a copied open. The follow's ratios are of
 * the margin (return on margin, as copiers see it), so the price moves by ratio / leverage:
 * a long at 100 with 10× leverage and takeProfitRatio 0.5 takes profit at 105. Prices are
 * rounded to the tick away from the entry, so neither triggers at the entry itself. A
 * trigger at or below zero (a short's take profit past 100% × leverage, a 1× long's stop
 * at 100%) cannot trigger and is left out.
 */
export interface ProtectivePrices {
  takeProfitPrice?: string;
  stopLossPrice?: string;
}

/** `entry`, `leverage`, `tick` in fixed.ts units; the ratios as the follow gives them. */
export function protectivePrices(
  side: PositionSide,
  entry: Fx,
  leverage: Fx,
  tick: Fx,
  takeProfitRatio: string | undefined,
  stopLossRatio: string | undefined,
): ProtectivePrices {
  const out: ProtectivePrices = {};
  // entry × (leverage ± ratio) / leverage, rounded to the tick away from the entry
  const above = (ratio: string) => ceilTo(ceilDiv(entry * (leverage + fx(ratio)), leverage), tick);
  const below = (ratio: string): Fx => {
    const factor = leverage - fx(ratio);
    return factor <= 0n ? 0n : floorTo((entry * factor) / leverage, tick);
  };
  if (takeProfitRatio !== undefined) {
    const p = side === 'long' ? above(takeProfitRatio) : below(takeProfitRatio);
    if (p > 0n) out.takeProfitPrice = fxStr(p);
  }
  if (stopLossRatio !== undefined) {
    const p = side === 'long' ? below(stopLossRatio) : above(stopLossRatio);
    if (p > 0n) out.stopLossPrice = fxStr(p);
  }
  return out;
}
