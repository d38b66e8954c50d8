/**
 * Which downstream failures are worth retrying. One table; the step worker asks it.
 * Retryable: the call may succeed later with the same idempotency key (the service was
 * slow, down, or shedding load). Everything else parks the order for an operator.
 */

export type ErrorClass = 'retryable' | 'fatal';

// a Map, not an object literal: a code like `constructor` or `__proto__` must not find Object.prototype
const TABLE: ReadonlyMap<string, ErrorClass> = new Map(
  Object.entries({
    TIMEOUT: 'retryable',
    UNAVAILABLE: 'retryable',
    INTERNAL: 'retryable',
    RATE_LIMITED: 'retryable',
    BAD_RESPONSE: 'retryable',
    HTTP_500: 'retryable',
    HTTP_502: 'retryable',
    HTTP_503: 'retryable',
    HTTP_504: 'retryable',
    INSUFFICIENT_BALANCE: 'fatal',
    INVALID_REQUEST: 'fatal',
    IDEMPOTENCY_CONFLICT: 'fatal',
    ACCOUNT_FROZEN: 'fatal',
    ENGINE_BUG: 'fatal',
  } satisfies Record<string, ErrorClass>),
);

/** Codes not in the table: a 5xx or 429 is the service's trouble (retry), anything else ours (park). */
export function classify(code: string, status?: number): ErrorClass {
  const known = TABLE.get(code);
  if (known) return known;
  return status !== undefined && (status >= 500 || status === 429) ? 'retryable' : 'fatal';
}

/** Exponential backoff with "equal jitter": half fixed, half random, so retries of a burst spread out. */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
