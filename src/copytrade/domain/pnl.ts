import type { Money } from '../../domain/money.js';
import type { PositionSide } from './signal.js';

/**
 * Realised PnL of closing `qty` contracts, before fees: a long gains when the exit is above
 * the entry, a short when it is below. USDT, exact (the caller rounds).
 */
export function grossPnl(
  side: PositionSide,
  entry: Money,
  exit: Money,
  qty: Money,
  contractSize: Money,
): Money {
  const perContract = side === 'long' ? exit.minus(entry) : entry.minus(exit);
  return perContract.mul(qty).mul(contractSize);
}
