import { HttpJson, isObject } from './http-json.js';
import type { CounterOrderRow } from './wire.js';

/** The counter's listing of its sync orders by shard and time: what the reconciler compares against. */
export interface CounterListing {
  /** rows of `shard` created in [fromMs, toMs), oldest first, at most `limit` */
  list(shard: number, fromMs: number, toMs: number, limit: number): Promise<CounterOrderRow[]>;
  close(): Promise<void>;
}

export function createCounterListing(baseUrl: string, opts: { timeoutMs: number }): CounterListing {
  const http = new HttpJson({ timeoutMs: opts.timeoutMs, connections: 2 });
  return {
    list: (shard, fromMs, toMs, limit) =>
      http.call(
        baseUrl,
        'GET',
        `/counter/orders?shard=${shard}&fromMs=${fromMs}&toMs=${toMs}&limit=${limit}`,
        undefined,
        (b) => (isObject(b) && Array.isArray(b.orders) ? (b.orders as CounterOrderRow[]) : undefined),
      ),
    close: () => http.close(),
  };
}
