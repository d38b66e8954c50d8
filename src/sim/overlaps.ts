/**
 * Watches, per order, whether a call arrives while an earlier call of the same order is
 * still unanswered. tradeflow's steps of one order are sequential, so outside of client
 * timeouts (whose held answers are still pending when the retry comes) this stays 0.
 * The order is the idempotency key up to its last ':' (`{orderId}:{step}`).
 */
export class OverlapWatch {
  readonly #busyUntil = new Map<string, number>();
  #overlaps = 0;

  /** Records a call of `key` at `now` answered after `delayMs`. */
  arrive(key: string, now: number, delayMs: number): void {
    const order = key.slice(0, key.lastIndexOf(':'));
    const busy = this.#busyUntil.get(order) ?? 0;
    if (busy > now) this.#overlaps++;
    this.#busyUntil.set(order, Math.max(busy, now + delayMs));
  }

  get overlaps(): number {
    return this.#overlaps;
  }
}
