import { InvalidRequest } from './errors.js';

/** The field checks every simulated service's request parser shares; each error names the field. */

export function object(value: unknown, what = 'body'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidRequest(`${what}: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}

export function text(b: Record<string, unknown>, field: string, max: number): string {
  const v = b[field];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    throw new InvalidRequest(`${field}: expected a non-empty string of at most ${max} characters`);
  }
  return v;
}

export function choice<T extends string>(b: Record<string, unknown>, field: string, values: readonly T[]): T {
  const v = b[field];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new InvalidRequest(`${field}: expected one of ${values.join(', ')}`);
  }
  return v as T;
}
