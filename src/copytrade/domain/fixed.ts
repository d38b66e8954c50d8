/**
 * Scaled-integer decimals for the per-copier hot path (sizing, netting, balances). A value
 * is held as a bigint counting 10^-18 units, the scale of the DECIMAL(36,18) columns, so
 * every decimal string tradeflow stores converts exactly.
 *
 * Why not money.ts (decimal.js) here: sizing runs for every copier of a trader, 5,000 per
 * signal within milliseconds, about thirty operations each; decimal.js costs 0.5-2 µs per
 * operation, bigint 10-100 ns. Fills, PnL and profit share (slices.ts, profit-share.ts)
 * keep money.ts.
 *
 * Exactness: sums, differences and products are exact (bigint has no bound). A quotient
 * is taken once, at the end of a computation, with its rounding stated: `/` truncates
 * toward zero, which is the floor for the non-negative values divided here; ceilDiv rounds
 * up. Rounding a floor (or ceiling) to a step that is itself a multiple of 10^-18 gives the
 * floor (ceiling) of the exact value, so no result depends on the 18-place truncation.
 */

export type Fx = bigint;

export const FX_DIGITS = 18;
export const ONE: Fx = 10n ** 18n;

const DECIMAL = /^(-?)(\d{1,40})(?:\.(\d{1,18}))?$/;

/** A decimal string with at most 18 places → Fx. Anything else throws: no silent rounding. */
export function fx(value: string): Fx {
  const m = DECIMAL.exec(value);
  if (m === null) throw new RangeError(`expected a decimal string with at most 18 places, got "${value}"`);
  const v = BigInt(`${m[2]}${(m[3] ?? '').padEnd(FX_DIGITS, '0')}`);
  return m[1] === '-' ? -v : v;
}

/** A finite JS number that prints as a plain decimal (a leverage such as 10 or 2.5) → Fx. */
export const fxOfNumber = (n: number): Fx => fx(String(n));

/** Fx → canonical decimal string: no exponent, no trailing zeros ("2", "0.5", "-20.99"). */
export function fxStr(v: Fx): string {
  const neg = v < 0n;
  const a = neg ? -v : v;
  const frac = (a % ONE).toString().padStart(FX_DIGITS, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${a / ONE}${frac === '' ? '' : `.${frac}`}`;
}

/** ⌈a / b⌉ for a ≥ 0, b > 0 (plain integers). */
export const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

/** The largest multiple of `step` ≤ v, for v ≥ 0. */
export const floorTo = (v: Fx, step: Fx): Fx => v - (v % step);

/** The smallest multiple of `step` ≥ v, for v ≥ 0. */
export function ceilTo(v: Fx, step: Fx): Fx {
  const r = v % step;
  return r === 0n ? v : v - r + step;
}

export const abs = (v: Fx): Fx => (v < 0n ? -v : v);
