import type { RowDataPacket } from 'mysql2/promise';
import type { CounterListing } from '../../clients/counter-listing.js';
import type { CounterOrderRow } from '../../clients/wire.js';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { Duty, DutyWrite } from '../coordinator/duties.js';
import { type CounterRow, decideCounterRow, type IntakeOrder } from '../domain/order.js';
import { planPass, type ShardCursor, type TimeRange } from '../domain/reconcile-ranges.js';
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
  /** how far before where the last pass ended each pass lists again (domain/reconcile-ranges.ts) */
  lagMs: number;
}

/** The two looks of a pass (domain/reconcile-ranges.ts). */
export type Look = 'recent' | 'last';

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
 * counter's orders from where its last pass ended (less a lag margin) up to `graceMs` ago,
 * plus one last look at those leaving the window before the watermark (what is listed, and
 * what that guarantees: domain/reconcile-ranges.ts); takes in those the engine does not
 * have, and records each as late with by how much. Safe to run in two processes at once
 * (intake's unique order id absorbs the second), it is still one of the coordinator's
 * duties: one process pulls, and its inserts carry the fencing token.
 */
export class Reconciler implements Duty {
  readonly name = 'reconciler';
  readonly intervalMs: number;
  /** per shard; moved on only once what its looks found is taken in */
  private readonly cursors = new Map<number, ShardCursor>();

  constructor(
    private readonly listing: CounterListing,
    private readonly pool: Pool,
    private readonly intake: Pick<Intake, 'record' | 'enqueue'>,
    private readonly watermarks: Watermarks,
    private readonly opts: ReconcilerOptions,
    private readonly log: Logger,
    /** sees each order found late, with by how much (metrics) */
    private readonly observeLate?: (lateMs: number) => void,
    /** sees how many rows each listing returned (metrics: what a pass costs the counter) */
    private readonly observeListed?: (look: Look, rows: number) => void,
  ) {
    this.intervalMs = opts.intervalMs;
  }

  /** One pass over every shard: the orders it finds missing are taken in under the fence. */
  async run(write: DutyWrite): Promise<void> {
    const now = Date.now();
    const marks = await this.watermarks.read(this.opts.shards);
    const late: IntakeOrder[] = [];
    const listed = new Map<number, ShardCursor>();
    const failed: { shard: number; err: Error }[] = [];
    for (let shard = 0; shard < this.opts.shards; shard++) {
      const plan = planPass(this.cursors.get(shard), marks[shard] ?? 0, now, this.opts);
      try {
        const found = await this.lateIn(shard, plan.recent, 'recent');
        if (plan.last) found.push(...(await this.lateIn(shard, plan.last, 'last')));
        late.push(...found);
        listed.set(shard, plan.next);
      } catch (err) {
        // one shard's trouble is not every shard's: the others are still looked at
        failed.push({ shard, err: err as Error });
      }
    }
    // the looks and a full page's last ms overlap: an order is taken in (and logged late) once
    await this.takeIn(write, [...new Map(late.map((o) => [o.orderId, o])).values()], now);
    for (const [shard, cursor] of listed) this.cursors.set(shard, cursor);
    if (failed.length > 0) {
      const shards = failed.map((f) => f.shard).join(',');
      throw new Error(`reconciler: shards ${shards} not listed: ${failed[0]?.err.message}`, {
        cause: failed[0]?.err,
      });
    }
  }

  /** The orders of `shard` dated in `range` that the counter lists and the engine does not have. */
  private async lateIn(shard: number, range: TimeRange, look: Look): Promise<IntakeOrder[]> {
    const late: IntakeOrder[] = [];
    let from = range.from;
    while (from < range.to) {
      const rows = await this.listing.list(shard, from, range.to, PAGE);
      this.observeListed?.(look, rows.length);
      late.push(...(await this.missing(rows)));
      if (rows.length < PAGE) break;
      const next = Number(rows[rows.length - 1]?.createdMs);
      // a full page is followed from its last time; a page of one single ms cannot be: past it
      if (next > from) from = next;
      else {
        this.log.warn(
          { shard, createdMs: from, listed: PAGE },
          'reconciler: more rows in one ms than a page',
        );
        from += 1;
      }
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
