import { SCALE } from '../../domain/money.js';
import { fx, fxStr, ONE, truncTo } from './fixed.js';

/**
 * The trader's share of a copier's profit, accrued per close (then paid out by a repeatable
 * job). The rule is deliberately simple: each close of a slice whose PnL — net of that
 * close's fee and of the open fees of the quantity closed (ClosedPart.pnl) — is positive
 * accrues pnl × the lead's profitShareRatio, rounded down to 8 places; a close at a loss
 * accrues nothing and is not carried against later gains (no high-water mark, so a copier
 * who gains 100 then loses 100 has paid a share of the first 100). The ratio is read from
 * the lead settings at the time of the close.
 */
export function profitShare(pnl: string, profitShareRatio: string): string {
  const p = fx(pnl);
  if (p <= 0n) return '0';
  return fxStr(truncTo((p * fx(profitShareRatio)) / ONE, SCALE));
}
