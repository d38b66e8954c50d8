import { LatestWrite } from '../../infra/latest-write.js';
import type { RedisClient } from '../../infra/redis.js';
import { watermarkCeiling } from '../domain/clock-skew.js';
import type { IntakeOrder } from '../domain/order.js';

export const watermarkKey = (prefix: string): string => `${prefix}:intake:watermark`;

/**
 * The latest counter order time seen per shard, by any intake source: in memory for this
 * process, and in Redis (raised only, see redis/watermark-1.lua) for all of them. The
 * reconciler asks the counter for what lies after it, less a safety window.
 *
 * Redis is raised in the background, one script call at a time with the raises since the
 * last one merged, so no intake waits for it: a watermark late or lost in a crash is lower
 * than it could be, which only makes the reconciler look further back.
 */
export class Watermarks {
  private readonly seen = new Map<number, number>();
  private readonly raises: LatestWrite<Map<number, number>>;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    /** no watermark passes now + this (domain/clock-skew.ts); Infinity: no limit */
    private readonly maxSkewMs: number,
    /** a raise Redis refused (the next raise carries it again) */
    onError: (err: unknown) => void,
  ) {
    this.raises = new LatestWrite(
      (raised) => this.redis.watermark(watermarkKey(this.prefix), ...[...raised].flat()),
      onError,
      { merge: higher },
    );
  }

  /** Raises the watermarks of the orders' shards: in memory now, in Redis soon after. */
  observe(orders: IntakeOrder[]): void {
    const ceiling = watermarkCeiling(Date.now(), this.maxSkewMs);
    const raised = new Map<number, number>();
    for (const o of orders) {
      const ms = Math.min(o.counterCreatedMs, ceiling);
      if (ms > (this.seen.get(o.shard) ?? 0)) {
        this.seen.set(o.shard, ms);
        raised.set(o.shard, ms);
      }
    }
    if (raised.size > 0) this.raises.offer(raised);
  }

  /** Waits until the raises observed so far have reached Redis (or failed). */
  flush(): Promise<void> {
    return this.raises.flush();
  }

  /**
   * The shared watermarks (ms per shard; 0 where none was seen), merged into memory. One
   * stored beyond now + skew (written before that limit existed; Redis only raises them)
   * reads as the ceiling.
   */
  async read(shards: number): Promise<number[]> {
    const stored = await this.redis.hgetall(watermarkKey(this.prefix));
    const ceiling = watermarkCeiling(Date.now(), this.maxSkewMs);
    return Array.from({ length: shards }, (_, shard) => {
      const ms = Math.min(ceiling, Math.max(Number(stored[String(shard)] ?? 0), this.seen.get(shard) ?? 0));
      if (ms > 0) this.seen.set(shard, ms);
      return ms;
    });
  }
}

const higher = (older: Map<number, number>, newer: Map<number, number>): Map<number, number> => {
  const merged = new Map(older);
  for (const [shard, ms] of newer) merged.set(shard, Math.max(ms, merged.get(shard) ?? 0));
  return merged;
};
