/**
 * Fixed-point amounts for the exchange's hot path: a bigint count of 10^-8 units (a satoshi
 * of whatever it measures: USDT, contracts, a price, a rate). Exact like decimal.js but about
 * ten times cheaper per operation, which matters at thousands of orders per batch; amounts
 * cross the wire as decimal strings, parsed and printed here. The simulator keeps every
 * amount to 8 places (src/domain/money.ts SCALE), so no precision is lost.
 */

export type Units = bigint;

export const DP = 8;
/** 1 in units */
export const ONE = 10n ** BigInt(DP);

const DECIMAL = /^(-?)(\d{1,30})(?:\.(\d{1,18}))?$/;
const PAD = '0'.repeat(DP);

/**
 * A decimal string as units; undefined if it is not a decimal string or has digits beyond
 * the 8th place (callers decide what that means: an off-step quantity, a bad request).
 */
export function parseUnits(text: string): Units | undefined {
  const m = DECIMAL.exec(text);
  if (m === null) return undefined;
  let frac = m[3] ?? '';
  if (frac.length > DP) {
    if (!/^0*$/.test(frac.slice(DP))) return undefined;
    frac = frac.slice(0, DP);
  }
  const units = BigInt(`${m[2]}${frac}${PAD.slice(frac.length)}`);
  return m[1] === '-' ? -units : units;
}

/** Units as a decimal string, without exponent or trailing zeros ("1.5", "0", "-0.00000001"). */
export function formatUnits(units: Units): string {
  if (units === 0n) return '0';
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(DP + 1, '0');
  const int = digits.slice(0, -DP);
  let end = digits.length;
  while (end > int.length && digits.charCodeAt(end - 1) === 48) end--;
  const text = end === int.length ? int : `${int}.${digits.slice(int.length, end)}`;
  return negative ? `-${text}` : text;
}

export type Rounding = 'floor' | 'ceil' | 'down' | 'halfUp';

/** n / d (d > 0) rounded as asked: floor towards minus infinity, ceil towards plus, down towards zero. */
export function divRound(n: bigint, d: bigint, rounding: Rounding): bigint {
  const q = n / d; // truncates towards zero
  // no remainder (n % d, a second division): q × d tells an exact quotient for less, and the
  // truncation already is the floor of a positive n and the ceil of a negative one
  switch (rounding) {
    case 'down':
      return q;
    case 'floor':
      return n < 0n && q * d !== n ? q - 1n : q;
    case 'ceil':
      return n > 0n && q * d !== n ? q + 1n : q;
    case 'halfUp': {
      const r = n - q * d;
      if (r === 0n || (r < 0n ? -r : r) * 2n < d) return q;
      return n < 0n ? q - 1n : q + 1n;
    }
  }
}

/** a × b in units, rounded as asked. */
export function mul(a: Units, b: Units, rounding: Rounding): Units {
  return divRound(a * b, ONE, rounding);
}

/** Whether `value` is a whole multiple of `step` (step > 0). */
export const isMultiple = (value: Units, step: Units): boolean => value % step === 0n;

export const minUnits = (a: Units, b: Units): Units => (a < b ? a : b);
