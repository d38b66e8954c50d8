import { HttpError } from '../../infra/http.js';

/**
 * The query parameters of a copiers' API route, checked before anything reads them: an
 * unknown or repeated parameter is a 400 naming it, never ignored (a typo like `limt=5`
 * would otherwise answer something the caller did not ask for).
 */
export function checkQuery(query: URLSearchParams, allowed: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of query.keys()) {
    if (!allowed.includes(name)) {
      const expected = allowed.length === 0 ? 'none' : allowed.join(', ');
      throw badRequest(`unknown query parameter ${name} (expected: ${expected})`);
    }
    if (seen.has(name)) throw badRequest(`${name}: given more than once`);
    seen.add(name);
  }
}

/** An integer parameter in min..max, `fallback` when absent; anything else (2.5, 1e2, '', abc) is a 400. */
export function intParam(
  query: URLSearchParams,
  name: string,
  range: { min: number; max: number; fallback: number },
): number {
  const raw = query.get(name);
  if (raw === null) return range.fallback;
  const n = /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= range.min && n <= range.max)) {
    throw badRequest(
      `${name}: expected an integer ${range.min}..${range.max} (default ${range.fallback}), got "${raw}"`,
    );
  }
  return n;
}

/** One of `values`, the first when absent. */
export function oneOfParam<T extends string>(query: URLSearchParams, name: string, values: readonly T[]): T {
  const raw = query.get(name) ?? values[0];
  if (!(values as readonly string[]).includes(raw as string)) {
    throw badRequest(`${name}: expected ${values.join(' or ')} (default ${values[0]}), got "${raw}"`);
  }
  return raw as T;
}

export const badRequest = (message: string) => new HttpError(400, 'BAD_REQUEST', message);
