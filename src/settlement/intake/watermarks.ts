import type { RedisClient } from '../../infra/redis.js';
import { watermarkCeiling } from '../domain/clock-skew.js';
import type { IntakeOrder } from '../domain/order.js';

export const watermarkKey = (prefix: string): string => `${prefix}:intake:watermark`;

/**
 * The latest counter order time seen per shard, by any intake source: in memory for this
 * process, and in Redis (raised only, see redis/watermark-1.lua) for all of them. The
 * reconciler asks the counter for what lies after it, less a safety window.
 */
export class Watermarks {
  private readonly seen = new Map<number, number>();

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    /** no watermark passes now + this (domain/clock-skew.ts); none: no limit */
    private readonly maxSkewMs = Number.POSITIVE_INFINITY,
  ) {}

  async observe(orders: IntakeOrder[]): Promise<void> {
    const ceiling = watermarkCeiling(Date.now(), this.maxSkewMs);
    const raised = new Map<number, number>();
    for (const o of orders) {
      const ms = Math.min(o.counterCreatedMs, ceiling);
      if (ms > (this.seen.get(o.shard) ?? 0)) {
        this.seen.set(o.shard, ms);
        raised.set(o.shard, ms);
      }
    }
    if (raised.size === 0) return;
    await this.redis.watermark(watermarkKey(this.prefix), ...[...raised].flat());
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
