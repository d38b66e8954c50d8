import type { RowDataPacket } from 'mysql2/promise';
import type { CounterListing } from '../clients/counter-listing.js';
import type { CounterOrderRow } from '../clients/wire.js';
import type { Logger } from '../infra/log.js';
import type { Pool } from '../infra/mysql/client.js';
import { every } from '../infra/periodic.js';
import type { IntakeSink } from './intake.js';
import { type CounterRow, decideCounterRow, type IntakeOrder } from './order.js';
import type { Watermarks } from './watermarks.js';

const SOURCE = 'reconciler';
const PAGE = 1000;

export interface ReconcilerOptions {
  shards: number;
  intervalMs: number;
  /** how far before each shard's watermark to look again */
  windowMs: number;
  /** orders younger than this are left to the primary source */
  graceMs: number;
}

/** A listed row as intake's decision expects it (the columns of the counter's table). */
const asCounterRow = (r: CounterOrderRow): CounterRow => ({
  id: r.id,
  order_id: r.orderId,
  shard: r.shard,
  user_id: r.userId,
  biz_type: r.bizType,
  flow: r.flow,
  asset: r.asset,
  qty: r.qty,
  usdt: r.usdt,
  created_ms: r.createdMs,
});

/**
 * Pulls what the primary source (Kafka, the poller) has not delivered: per shard, the
 * counter's orders from the watermark less a safety window up to `graceMs` ago, takes in
 * those the engine does not have, and records each as late with by how much. Safe to run
 * in two processes at once: intake's unique order id absorbs the second.
 */
export class Reconciler {
  private task: { stop(): Promise<void> } | null = null;
  readonly counts = { runs: 0, late: 0 };

  constructor(
    private readonly listing: CounterListing,
    private readonly pool: Pool,
    private readonly sink: IntakeSink,
    private readonly watermarks: Watermarks,
    private readonly opts: ReconcilerOptions,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.task = every(
      this.opts.intervalMs,
      () => this.runOnce(),
      (err) => this.log.error({ err }, 'reconciler run failed'),
    );
  }

  async stop(): Promise<void> {
    await this.task?.stop();
  }

  /** One pass over every shard; returns the orders it found missing and took in. */
  async runOnce(now = Date.now()): Promise<IntakeOrder[]> {
    const marks = await this.watermarks.read(this.opts.shards);
    const until = now - this.opts.graceMs;
    const late: IntakeOrder[] = [];
    for (let shard = 0; shard < this.opts.shards; shard++) {
      let from = Math.max(0, (marks[shard] || now - this.opts.windowMs) - this.opts.windowMs);
      for (;;) {
        const rows = await this.listing.list(shard, from, until, PAGE);
        late.push(...(await this.missing(rows)));
        const next = Number(rows[rows.length - 1]?.createdMs);
        // a full page is followed from its last time; a page of one single ms cannot be, so stop there
        if (rows.length < PAGE || next <= from) break;
        from = next;
      }
    }
    if (late.length > 0) {
      await this.sink.takeIn(late, SOURCE);
      for (const o of late) {
        this.log.warn(
          { orderId: o.orderId, shard: o.shard, lateMs: now - o.counterCreatedMs },
          'late order taken in',
        );
      }
    }
    this.counts.runs++;
    this.counts.late += late.length;
    return late;
  }

  private async missing(rows: CounterOrderRow[]): Promise<IntakeOrder[]> {
    const orders: IntakeOrder[] = [];
    for (const r of rows) {
      const d = decideCounterRow(asCounterRow(r), this.opts.shards);
      // malformed rows are the primary source's to reject (with their raw input); here they are skipped
      if (d.kind === 'order') orders.push(d.order);
    }
    if (orders.length === 0) return [];
    const [known] = await this.pool.query<RowDataPacket[]>(
      'SELECT order_id FROM settlement_order WHERE order_id IN (?)',
      [orders.map((o) => o.orderId)],
    );
    const have = new Set(known.map((k) => k.order_id as string));
    return [...new Map(orders.filter((o) => !have.has(o.orderId)).map((o) => [o.orderId, o])).values()];
  }
}
