import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../infra/mysql/client.js';
import type { RedisClient } from '../../infra/redis.js';
import { checkClock } from '../domain/clock-skew.js';
import type { IntakeOrder } from '../domain/order.js';
import { encodeMessage, streamKey } from '../domain/streams.js';
import type { Watermarks } from './watermarks.js';

export interface Rejection {
  sourceRef: string;
  orderId: string | null;
  reason: string;
  raw: string;
}

/** Where intake writes: the pool, or the connection of a coordinator's fenced transaction. */
type Db = Pool | PoolConnection;

/** Inserts orders as RUNNING at step 1, ignoring those already there (unique order id). */
export function insertOrders(db: Db, orders: IntakeOrder[], source: string) {
  const now = Date.now();
  return db.query<ResultSetHeader>(
    'INSERT IGNORE INTO settlement_order (order_id, flow, asset, user_id, qty, usdt, shard, status, step, attempt, source, counter_created_ms, intake_ms, updated_ms) VALUES ?',
    [
      orders.map((o) => [
        o.orderId,
        o.flow,
        o.asset,
        o.userId,
        o.qty,
        o.usdt,
        o.shard,
        'RUNNING',
        1,
        1,
        source,
        o.counterCreatedMs,
        now,
        now,
      ]),
    ],
  );
}

export interface IntakeOptions {
  watermarks?: Watermarks;
  /** sees how many orders each take-in added, by source (metrics) */
  observe?: (source: string, added: number) => void;
  /** how far ahead of this process's clock a counter row may be dated (none: no limit) */
  maxSkewMs?: number;
  /** sees, per take-in, how far its latest-dated order was ahead (0: none) and how many were too far (metrics) */
  observeSkew?: (source: string, skewMs: number, rejected: number) => void;
}

/** What `Intake.record` wrote: the orders read, those to enqueue, how many rows were new. */
export interface Taken {
  orders: IntakeOrder[];
  fresh: IntakeOrder[];
  added: number;
  source: string;
}

/** Where an intake source delivers what it read: orders to take in, input to reject. */
export interface IntakeSink {
  /** Returns how many orders were new; a source moves its cursor only after this resolves. */
  takeIn(orders: IntakeOrder[], source: string): Promise<number>;
  reject(rejections: Rejection[], source: string): Promise<void>;
}

/**
 * The one way into settlement, whatever the source (poller, Kafka, reconciler): the order
 * row is written first (its unique id absorbs duplicates), then the order enters the
 * stream of step 1. A source commits its own progress only after this returns.
 */
export class Intake implements IntakeSink {
  private readonly watermarks?: Watermarks;
  private readonly observe?: IntakeOptions['observe'];

  constructor(
    private readonly pool: Pool,
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly opts: IntakeOptions = {},
  ) {
    this.watermarks = opts.watermarks;
    this.observe = opts.observe;
  }

  /**
   * Orders dated beyond the clock skew are rejected, not taken in (see domain/clock-skew.ts); the
   * others are recorded and enqueued.
   */
  async takeIn(orders: IntakeOrder[], source: string): Promise<number> {
    const { maxSkewMs = Number.POSITIVE_INFINITY, observeSkew } = this.opts;
    const { due, ahead, skewMs } = checkClock(orders, Date.now(), maxSkewMs);
    if (orders.length > 0) observeSkew?.(source, skewMs, ahead.length);
    if (ahead.length > 0) {
      await this.reject(
        ahead.map(({ order, reason }) => ({
          // one rejection per order however often its row is read again
          sourceRef: `ahead:${order.orderId}`,
          orderId: order.orderId,
          reason,
          raw: JSON.stringify(order),
        })),
        source,
      );
    }
    const taken = await this.record(due, source, this.pool);
    await this.enqueue(taken);
    return taken.added;
  }

  /**
   * The MySQL half of a take-in, on `db` (the connection of a coordinator's fenced
   * transaction, whose commit must come before `enqueue`, so no step runs for an order
   * whose row could still roll back).
   */
  async record(orders: IntakeOrder[], source: string, db: Db): Promise<Taken> {
    if (orders.length === 0) return { orders, fresh: [], added: 0, source };
    const [res] = await insertOrders(db, orders, source);
    const fresh = res.affectedRows === orders.length ? orders : await this.notStarted(db, orders);
    return { orders, fresh, added: res.affectedRows, source };
  }

  /** The Redis half: the new orders enter the stream of step 1. */
  async enqueue({ orders, fresh, added, source }: Taken): Promise<void> {
    if (orders.length === 0) return;
    if (fresh.length > 0) {
      const pipe = this.redis.pipeline();
      const key = streamKey(this.prefix, 1);
      for (const o of fresh) {
        pipe.xadd(
          key,
          '*',
          ...encodeMessage({
            ...o,
            step: 1,
            attempt: 1,
            firstAttempt: 1,
            carry: null,
            t0: o.counterCreatedMs,
          }),
        );
      }
      const results = await pipe.exec();
      const failed = results?.find(([err]) => err);
      if (failed?.[0]) throw failed[0];
    }
    this.watermarks?.observe(orders);
    this.observe?.(source, added);
  }

  /**
   * Among orders some of which were already known, those that never started: new ones, and
   * ones whose earlier intake wrote the row but died before the stream. A duplicate entry
   * for an order already queued is harmless (the outcome gate drops the second run).
   */
  private async notStarted(db: Db, orders: IntakeOrder[]): Promise<IntakeOrder[]> {
    const [rows] = await db.query<RowDataPacket[]>(
      "SELECT order_id FROM settlement_order WHERE order_id IN (?) AND status='RUNNING' AND step=1 AND attempt=1 AND updated_ms=intake_ms",
      [orders.map((o) => o.orderId)],
    );
    const ids = new Set(rows.map((r) => r.order_id as string));
    return orders.filter((o) => ids.has(o.orderId));
  }

  async reject(rejections: Rejection[], source: string): Promise<void> {
    if (rejections.length === 0) return;
    const now = Date.now();
    await this.pool.query(
      'INSERT IGNORE INTO intake_rejection (source, source_ref, order_id, reason, raw, created_ms) VALUES ?',
      [
        rejections.map((r) => [
          source,
          r.sourceRef,
          r.orderId,
          r.reason.slice(0, 512),
          r.raw.slice(0, 60_000),
          now,
        ]),
      ],
    );
  }
}
