/**
 * Writes the latest of a value offered many times, off the path of whoever offers it: one
 * write in flight at a time, values offered meanwhile merged into the next one (`merge`,
 * by default the newer wins), a write at most every `minGapMs`. A failed write's value is
 * kept (merged with anything newer) and tried again after `retryMs`.
 *
 * What is offered must already be safe to write: the writer only delays it, never reorders.
 */
export class LatestWrite<T> {
  private pending: { value: T } | null = null;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private notBefore = 0;
  private readonly merge: (older: T, newer: T) => T;
  private readonly minGapMs: number;
  private readonly retryMs: number;

  constructor(
    private readonly write: (value: T) => Promise<unknown>,
    private readonly onError: (err: unknown) => void,
    opts: { minGapMs?: number; retryMs?: number; merge?: (older: T, newer: T) => T } = {},
  ) {
    this.merge = opts.merge ?? ((_, newer) => newer);
    this.minGapMs = opts.minGapMs ?? 0;
    this.retryMs = opts.retryMs ?? Math.max(this.minGapMs, 1000);
  }

  offer(value: T): void {
    this.pending = { value: this.pending ? this.merge(this.pending.value, value) : value };
    this.kick();
  }

  /** Writes what is pending now, gap or not, and waits for it (a failure is only reported). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
    if (this.pending) this.start();
    await this.inFlight;
    // a failed write left its value pending and a retry due: there is no retry after a flush
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private kick(): void {
    if (this.inFlight || this.timer || !this.pending) return;
    const wait = this.notBefore - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.kick();
      }, wait);
      return;
    }
    this.start();
  }

  private start(): void {
    const taken = this.pending;
    if (!taken) return;
    this.pending = null;
    this.inFlight = this.write(taken.value).then(
      () => {
        this.notBefore = Date.now() + this.minGapMs;
      },
      (err) => {
        this.onError(err);
        this.pending = { value: this.pending ? this.merge(taken.value, this.pending.value) : taken.value };
        this.notBefore = Date.now() + this.retryMs;
      },
    );
    this.inFlight.finally(() => {
      this.inFlight = null;
      this.kick();
    });
  }
}
