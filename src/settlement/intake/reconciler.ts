import type { RowDataPacket } from 'mysql2/promise';
import type { CounterListing } from '../../clients/counter-listing.js';
import type { CounterOrderRow } from '../../clients/wire.js';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { Duty, DutyWrite } from '../coordinator/duties.js';
import { type CounterRow, decideCounterRow, type IntakeOrder } from '../domain/order.js';
import type { Intake, Taken } from './intake.js';
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
 * in two processes at once (intake's unique order id absorbs the second), it is still one
 * of the coordinator's duties: one process pulls, and its inserts carry the fencing token.
 */
export class Reconciler implements Duty {
  readonly name = 'reconciler';
  readonly intervalMs: number;

  constructor(
    private readonly listing: CounterListing,
    private readonly pool: Pool,
    private readonly intake: Pick<Intake, 'record' | 'enqueue'>,
    private readonly watermarks: Watermarks,
    private readonly opts: ReconcilerOptions,
    private readonly log: Logger,
    /** sees each order found late, with by how much (metrics) */
    private readonly observeLate?: (lateMs: number) => void,
  ) {
    this.intervalMs = opts.intervalMs;
  }

  /** One pass over every shard: the orders it finds missing are taken in under the fence. */
  async run(write: DutyWrite): Promise<void> {
    const now = Date.now();
    const marks = await this.watermarks.read(this.opts.shards);
    const until = now - this.opts.graceMs;
    const late: IntakeOrder[] = [];
    const failed: { shard: number; err: Error }[] = [];
    for (let shard = 0; shard < this.opts.shards; shard++) {
      try {
        late.push(...(await this.lateOf(shard, marks[shard] ?? 0, now, until)));
      } catch (err) {
        // one shard's trouble is not every shard's: the others are still looked at
        failed.push({ shard, err: err as Error });
      }
    }
    await this.takeIn(write, late, now);
    if (failed.length > 0) {
      const shards = failed.map((f) => f.shard).join(',');
      throw new Error(`reconciler: shards ${shards} not listed: ${failed[0]?.err.message}`, {
        cause: failed[0]?.err,
      });
    }
  }

  /** The orders of `shard` the counter lists and the engine does not have. */
  private async lateOf(shard: number, watermark: number, now: number, until: number): Promise<IntakeOrder[]> {
    const late: IntakeOrder[] = [];
    // a watermark ahead of `until` (the counter's clock runs ahead, within the skew) must not
    // turn the window inside out: the counter refuses that, and the shard would never be looked at
    const mark = Math.min(watermark || now - this.opts.windowMs, until);
    let from = Math.max(0, mark - this.opts.windowMs);
    for (;;) {
      const rows = await this.listing.list(shard, from, until, PAGE);
      late.push(...(await this.missing(rows)));
      const next = Number(rows[rows.length - 1]?.createdMs);
      // a full page is followed from its last time; a page of one single ms cannot be, so stop there
      if (rows.length < PAGE || next <= from) break;
      from = next;
    }
    return late;
  }

  private async takeIn(write: DutyWrite, late: IntakeOrder[], now: number): Promise<void> {
    if (late.length === 0) return;
    let taken: Taken | undefined;
    await write(async (conn) => {
      taken = await this.intake.record(late, SOURCE, conn);
      return taken.added;
    });
    // after the commit: a crash before this leaves rows the recovery scan redrives
    if (taken) await this.intake.enqueue(taken);
    for (const o of late) {
      this.observeLate?.(now - o.counterCreatedMs);
      this.log.warn(
        { orderId: o.orderId, shard: o.shard, lateMs: now - o.counterCreatedMs },
        'late order taken in',
      );
    }
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
