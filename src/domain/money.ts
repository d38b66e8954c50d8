import { Decimal } from 'decimal.js';

/**
 * Exact decimal arithmetic for amounts. Amounts travel as decimal strings (MySQL DECIMAL,
 * JSON bodies, stream fields) and become Money only inside a computation; never a JS number.
 */
export const Money = Decimal.clone({
  precision: 50,
  rounding: Decimal.ROUND_DOWN,
  toExpNeg: -40,
  toExpPos: 40,
});
export type Money = InstanceType<typeof Money>;

/** The simulated services keep amounts to 8 places (satoshi), rounded down so the house never pays out what it lacks. */
export const SCALE = 8;

export function money(value: string | number | Money): Money {
  return new Money(value);
}

/** A decimal string: digits, an optional fraction, an optional leading minus. */
const DECIMAL = /^-?\d{1,30}(\.\d{1,18})?$/;

export function isDecimalString(value: unknown): value is string {
  return typeof value === 'string' && DECIMAL.test(value);
}

/** A positive decimal string that fits the DECIMAL(36,18) columns: at most 18 digits before the point. */
export function isAmount(value: unknown): value is string {
  return typeof value === 'string' && /^\d{1,18}(\.\d{1,18})?$/.test(value) && money(value).gt(0);
}

/** Rounds down to SCALE places and prints without exponent or trailing zeros. */
export function fmt(value: Money): string {
  return value.toDecimalPlaces(SCALE, Decimal.ROUND_DOWN).toFixed();
}
