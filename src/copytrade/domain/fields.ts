import { isAmount, isDecimalString, type Money, money } from '../../domain/money.js';
import { SettingsError } from './settings-error.js';

/**
 * Small readers for the fields of an untrusted JSON object, shared by the parsers of lead
 * settings, follow settings and instrument rules. Each reads one field, checks it and
 * throws a SettingsError naming it. Decimal fields must be JSON strings: an amount that
 * arrived as a JSON number has already been through a float.
 */

export type JsonObject = Record<string, unknown>;

export const join = (prefix: string, key: string): string => (prefix === '' ? key : `${prefix}.${key}`);

export function objectAt(value: unknown, field: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SettingsError(field, 'expected an object');
  }
  return value as JsonObject;
}

/** Refuses keys outside `allowed`: a misspelt optional field would otherwise be silently ignored. */
export function onlyKeys(obj: JsonObject, allowed: readonly string[], prefix: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw new SettingsError(join(prefix, key), 'unknown field');
  }
}

/** Ids go into client order ids `{signalId}:{copierId}` and Redis keys: short, no `:`. */
const ID = /^[A-Za-z0-9_.-]{1,64}$/;
/** BTC-USDT-SWAP, ETHUSDT, ... (same shape as the signal ingress accepts) */
const INSTRUMENT = /^[A-Z0-9]{1,16}(-[A-Z0-9]{1,16}){0,3}$/;

export function idAt(obj: JsonObject, key: string, prefix: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || !ID.test(v)) {
    throw new SettingsError(join(prefix, key), 'expected 1-64 characters of A-Z a-z 0-9 _ . -');
  }
  return v;
}

export function instrumentAt(obj: JsonObject, key: string, prefix: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || !INSTRUMENT.test(v)) {
    throw new SettingsError(join(prefix, key), 'expected an instrument like BTC-USDT-SWAP');
  }
  return v;
}

/** A non-empty list of distinct instrument names. */
export function instrumentsAt(obj: JsonObject, key: string, prefix: string): readonly string[] {
  const field = join(prefix, key);
  const v = obj[key];
  if (!Array.isArray(v) || v.length === 0) throw new SettingsError(field, 'expected a non-empty list');
  const seen = new Set<string>();
  v.forEach((item, i) => {
    if (typeof item !== 'string' || !INSTRUMENT.test(item)) {
      throw new SettingsError(`${field}[${i}]`, 'expected an instrument like BTC-USDT-SWAP');
    }
    if (seen.has(item)) throw new SettingsError(`${field}[${i}]`, `"${item}" is listed twice`);
    seen.add(item);
  });
  return Object.freeze([...seen]);
}

export function oneOfAt<T extends string>(
  obj: JsonObject,
  key: string,
  prefix: string,
  values: readonly T[],
): T {
  const v = obj[key];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new SettingsError(join(prefix, key), `expected one of ${values.map((x) => `"${x}"`).join(', ')}`);
  }
  return v as T;
}

export function intAt(obj: JsonObject, key: string, prefix: string, min: number, max: number): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new SettingsError(join(prefix, key), `expected an integer from ${min} to ${max}`);
  }
  return v;
}

/** A positive amount (decimal string, DECIMAL(36,18)), returned in canonical form ("100.50" → "100.5"). */
export function amountAt(obj: JsonObject, key: string, prefix: string): string {
  const v = obj[key];
  if (!isAmount(v))
    throw new SettingsError(join(prefix, key), 'expected a positive decimal string like "100.5"');
  return money(v).toFixed();
}

/**
 * A ratio as a decimal string within [min, max] (or (min, max] when `minExclusive`), in
 * canonical form.
 */
export function ratioAt(
  obj: JsonObject,
  key: string,
  prefix: string,
  bounds: { min: string; max: string; minExclusive?: boolean },
): string {
  const field = join(prefix, key);
  const v = obj[key];
  const range = `${bounds.minExclusive ? 'above' : 'from'} ${bounds.min} ${bounds.minExclusive ? 'up ' : ''}to ${bounds.max}`;
  if (!isDecimalString(v)) throw new SettingsError(field, `expected a decimal string ${range}`);
  const r: Money = money(v);
  const low = bounds.minExclusive ? r.lte(bounds.min) : r.lt(bounds.min);
  if (low || r.gt(bounds.max))
    throw new SettingsError(field, `expected a decimal string ${range}, got "${v}"`);
  return r.toFixed();
}
