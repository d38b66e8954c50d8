import { type Fx, fx } from './fixed.js';
import type { MarginMode } from './settings.js';

/**
 * What sizing needs to know of the copier's exchange account: its balances and its margin
 * kind, which decides which balance can back a new position.
 *
 * The rule (simple, and the one the exchange adapter must fill the snapshot for):
 * - single-currency: each currency margins only itself; a USDT-margined contract is backed
 *   by the USDT `available` balance, in cross and in isolated mode.
 * - multi-currency and portfolio, cross: every currency's available equity counts at its
 *   USDT value after the exchange's haircut (`usdtValue`, given by the adapter); the
 *   balance for margin is their sum. Portfolio margin's offsets between hedged positions
 *   are not modelled: it reads the same sum, which is conservative.
 * - multi-currency and portfolio, isolated: an isolated position is funded from the
 *   margin currency alone (USDT), as on single-currency accounts.
 *
 * Orders placed earlier in the same fan-out are not in the snapshot: the caller subtracts
 * each order's `margin` from the USDT figures before sizing the same account's next copy.
 */
export type MarginKind = 'single-currency' | 'multi-currency' | 'portfolio';

export interface CurrencyBalance {
  /** free amount of this currency (not frozen by orders or isolated positions) */
  available: string;
  /** the USDT value of `available` after haircut (= available for USDT); may be negative (borrowed) */
  usdtValue: string;
}

export interface AccountSnapshot {
  marginKind: MarginKind;
  /** by currency: USDT, BTC, ... */
  balances: Readonly<Record<string, CurrencyBalance>>;
}

export const MARGIN_CURRENCY = 'USDT';

/** USDT available to back a new position in `marginMode`, by the rule above (fixed.ts units). */
export function availableForMargin(account: AccountSnapshot, marginMode: MarginMode): Fx {
  if (account.marginKind === 'single-currency' || marginMode === 'isolated') {
    const usdt = account.balances[MARGIN_CURRENCY];
    return usdt === undefined ? 0n : fx(usdt.available);
  }
  let sum = 0n;
  for (const currency in account.balances) {
    const b = account.balances[currency];
    if (b !== undefined) sum += fx(b.usdtValue);
  }
  return sum;
}
