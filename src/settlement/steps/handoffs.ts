import type { RedisClient } from '../../infra/redis.js';
import type { Read } from '../../infra/stream-consumer.js';

/** Where an order goes after its step: the next step's stream, under the order's hand-off marker. */
export interface Onward {
  stream: string;
  marker: string;
  fields: string[];
}

interface Pending {
  from: string;
  entryId: string;
  onward: Onward | null;
  resolve: (added: boolean) => void;
  reject: (err: Error) => void;
}

export interface HandoffsOptions {
  group: string;
  /** how long a hand-off marker lives: longer than a duplicate of a step can wait (claim, redrive) */
  markerMs: number;
  /** orders per script call */
  maxBatch?: number;
  /** script calls in flight at once; what arrives meanwhile waits and goes in the next call */
  maxInFlight?: number;
  /** sees the size of every batch sent (metrics) */
  observe?: (orders: number) => void;
}

/** Where the next work taken in a hand-off call goes: the caller's consumer of the step streams. */
export interface Taker {
  streams: readonly string[];
  consumer: string;
  /** new entries per stream the consumer has room for now (0: take none) */
  takeable(): number;
  deliver(read: readonly Read[]): void;
}

/**
 * The hot path's last hop: hands orders on to their next step, or acknowledges their last
 * one, many orders per call of redis/handoffs-n.lua, on a connection of its own so that it
 * never queues behind claims, trimming or metrics. While a call is in flight the next
 * orders gather; the call's round trip is the batching window, so a lone order waits for
 * no timer. The same call takes the next work for the `taker` (mostly the entries it just
 * added), saving the blocking read's round trip.
 */
export class Handoffs {
  private queue: Pending[] = [];
  private inFlight = 0;
  private readonly maxBatch: number;
  private readonly maxInFlight: number;

  private taker: Taker | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly opts: HandoffsOptions,
  ) {
    this.maxBatch = opts.maxBatch ?? 256;
    this.maxInFlight = opts.maxInFlight ?? 1;
  }

  /** From now on each call also takes new entries for `taker`. */
  takeFor(taker: Taker): void {
    this.taker = taker;
  }

  /** Adds the entry of the next step (unless this hand-off was made before) and deletes this one; true when added. */
  handOn(from: string, entryId: string, onward: Onward): Promise<boolean> {
    return this.enqueue(from, entryId, onward);
  }

  /** Acknowledges and deletes an entry whose order goes no further in the streams. */
  async ack(from: string, entryId: string): Promise<void> {
    await this.enqueue(from, entryId, null);
  }

  private enqueue(from: string, entryId: string, onward: Onward | null): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ from, entryId, onward, resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.inFlight++;
      this.send(batch).finally(() => {
        this.inFlight--;
        this.flush();
      });
    }
  }

  private async send(batch: Pending[]): Promise<void> {
    const taker = this.taker;
    const keys: string[] = [...(taker?.streams ?? [])];
    const args: (string | number)[] = [
      this.opts.group,
      this.opts.markerMs,
      taker?.consumer ?? '',
      keys.length,
      taker?.takeable() ?? 0,
    ];
    for (const p of batch) {
      keys.push(p.from);
      args.push(p.entryId, p.onward?.fields.length ?? 0);
      if (p.onward) {
        keys.push(p.onward.stream, p.onward.marker);
        args.push(...p.onward.fields);
      }
    }
    this.opts.observe?.(batch.length);
    try {
      const [added, read] = await this.redis.handoffs(keys.length, ...keys, ...args);
      // the taken entries are this consumer's pending ones from now on, whatever happens here
      if (read) taker?.deliver(read);
      for (const [i, p] of batch.entries()) p.resolve(added[i] === 1);
    } catch (err) {
      // the script may have done the orders before the one that failed: each order's part is
      // whole, so a claim of what stayed pending finds it done (marker) or not begun
      for (const p of batch) p.reject(err as Error);
    }
  }
}
