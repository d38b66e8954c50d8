/**
 * Failed credential attempts per remote address, in fixed windows: an address that fails
 * `maxFailures` times within `windowMs` of its first failure is refused every attempt (a
 * right credential too: a lucky guess must not get through) until that window ends. Shared
 * by the copiers' API and the traders' socket: one stranger, whichever door it tries.
 *
 * In memory and per process: with several processes behind a balancer each counts its own.
 * Windows that ended are swept as failures come in, so memory follows the addresses that
 * failed within one window.
 */
export interface AttemptLimits {
  readonly maxFailures: number;
  readonly windowMs: number;
}

interface Window {
  readonly endsMs: number;
  failures: number;
}

export class AttemptLimiter {
  readonly #windows = new Map<string, Window>();
  #sweepAtMs = 0;

  constructor(
    private readonly limits: AttemptLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until `from` may try again; 0 when it may try now. */
  blockedFor(from: string): number {
    const w = this.#windows.get(from);
    if (w === undefined) return 0;
    const left = w.endsMs - this.now();
    if (left <= 0) {
      this.#windows.delete(from);
      return 0;
    }
    return w.failures >= this.limits.maxFailures ? left : 0;
  }

  failed(from: string): void {
    const now = this.now();
    if (now >= this.#sweepAtMs) this.#sweep(now);
    const w = this.#windows.get(from);
    if (w !== undefined && w.endsMs > now) w.failures++;
    else this.#windows.set(from, { endsMs: now + this.limits.windowMs, failures: 1 });
  }

  #sweep(now: number): void {
    for (const [from, w] of this.#windows) if (w.endsMs <= now) this.#windows.delete(from);
    this.#sweepAtMs = now + this.limits.windowMs;
  }
}

/** Retry-After (whole seconds, at least 1) for a wait of `ms`. */
export const retryAfterSeconds = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)));
