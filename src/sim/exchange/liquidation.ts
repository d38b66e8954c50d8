import { divRound, ONE, type Units } from './fixed.js';
import type { Position } from './positions.js';

/**
 * Where the simulated exchange would liquidate a position, kept simple and stated here (a
 * real exchange has tiers, an insurance fund and a mark price of its own). Pure.
 *
 * A position is liquidated when what backs it falls to the maintenance margin,
 * MAINTENANCE_MARGIN_RATE of its entry notional. What backs it:
 * - isolated: its own margin (the entry notional over the leverage, plus any margin added);
 * - cross: its own margin plus the account's whole free balance (wallet less used margin),
 *   each cross position valued as if it alone drew on that balance.
 *
 * So, with cushion = backing − maintenance and Q = qty × contractSize:
 *   long:  entry − cushion / Q     (0 when that is not positive: it is never liquidated)
 *   short: entry + cushion / Q
 * rounded to 8 places towards the entry (a long's up, a short's down): the price shown is
 * never beyond the true one. The simulator liquidates only when a test asks
 * (`POST /admin/liquidate`), at the feed price, whatever this price says.
 */

/** 0.5% of the entry notional, for every instrument */
export const MAINTENANCE_MARGIN_RATE: Units = 500_000n;

export function liquidationPrice(pos: Position, contractSize: Units, freeBalance: Units): Units {
  const q = pos.qty * contractSize; // at 10^-16
  if (q <= 0n) return 0n;
  const backing = pos.margin + (pos.marginMode === 'cross' && freeBalance > 0n ? freeBalance : 0n);
  // at 10^-32: backing (10^-8) × 10^24, maintenance = Q × entry × rate (10^-16 × 10^-8 × 10^-8)
  const cushion = backing * ONE * ONE * ONE - q * pos.avgEntry * MAINTENANCE_MARGIN_RATE;
  // cushion / Q is at 10^-16: over ONE more, a price at 10^-8
  const d = q * ONE;
  if (pos.side === 'long') {
    const price = pos.avgEntry - divRound(cushion, d, 'floor');
    return price > 0n ? price : 0n;
  }
  const price = pos.avgEntry + divRound(cushion, d, 'floor');
  return price > 0n ? price : 0n;
}
