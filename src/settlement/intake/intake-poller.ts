import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { SettlementSettings } from '../../config.js';
import { LatestWrite } from '../../infra/latest-write.js';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import { IdGaps } from '../domain/id-gaps.js';
import { type CounterRow, decideCounterRow, type IntakeOrder } from '../domain/order.js';
import type { IntakeSink, Rejection } from './intake.js';

const SOURCE = 'poll';

/** The poller's options as the settings give them. */
export const pollerOptions = (config: SettlementSettings) => ({
  intervalMs: config.pollIntervalMs,
  batch: config.pollBatch,
  shards: config.shards,
  gapWaitMs: config.pollGapWaitMs,
});
const CURSOR_SAVE_MS = 250;
const COLUMNS = 'id, order_id, shard, user_id, biz_type, flow, asset, qty, usdt, created_ms';

/**
 * Intake by polling the counter's sync-order table: reads rows after the last id seen,
 * takes the qualifying ones in, records the malformed ones as rejected, then moves the
 * cursor. A crash between the two re-reads the rows, which intake absorbs.
 *
 * Ids are assigned at insert but become visible at commit, so with several concurrent
 * writers a lower id can appear after a higher one was read: the skipped ids are asked for
 * again until they turn up or `gapWaitMs` has passed (see domain/id-gaps.ts), and the saved cursor
 * stays before the oldest of them. The reconciler (next issue) covers what is later still.
 *
 * A poll that filled its batch is followed by the next at once; the cursor is saved in the
 * background (one save at a time, the latest position wins), so a save waiting on the fence
 * row never holds the polls. A position is handed to it only after its rows are recorded and
 * enqueued, so the cursor saved is never ahead of what intake holds.
 */
export class IntakePoller {
  private running = false;
  private loop: Promise<void> | null = null;
  private timer: { resolve: () => void; handle: NodeJS.Timeout } | null = null;
  /** since start: polls, rows read, orders taken in, rows ignored, rows rejected, rows taken in late (out of id order) */
  readonly counts = { polls: 0, rows: 0, orders: 0, ignored: 0, rejected: 0, late: 0 };

  constructor(
    private readonly counterPool: Pool,
    private readonly enginePool: Pool,
    private readonly intake: IntakeSink,
    private readonly opts: { intervalMs: number; batch: number; shards: number; gapWaitMs: number },
    private readonly log: Logger,
    /** runs the cursor write; the coordinator's poller passes its fence here */
    private readonly guard: (write: (conn: PoolConnection) => Promise<unknown>) => Promise<unknown> = async (
      write,
    ) => {
      const conn = await enginePool.getConnection();
      try {
        return await write(conn);
      } finally {
        conn.release();
      }
    },
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) {
      clearTimeout(this.timer.handle);
      this.timer.resolve();
    }
    await this.loop;
  }

  private async run(): Promise<void> {
    let cursor = -1;
    while (this.running && cursor < 0) {
      cursor = await this.readCursor().catch((err) => {
        this.log.error({ err }, 'intake cursor not readable; retrying');
        return -1;
      });
      if (cursor < 0) await this.pause();
    }
    const gaps = new IdGaps(this.opts.gapWaitMs);
    // after a crash the rows since the saved cursor are read again, which intake absorbs:
    // one write per poll is not worth it
    const saves = new LatestWrite<number>(
      (position) => this.saveCursor(position),
      (err) => this.log.error({ err }, 'intake cursor not saved; retrying'),
      { minGapMs: CURSOR_SAVE_MS },
    );
    let next = cursor;
    let offered = cursor;
    while (this.running) {
      let full = false;
      try {
        this.counts.polls++;
        const [rows] = await this.counterPool.query<RowDataPacket[]>(
          `SELECT ${COLUMNS} FROM sync_order WHERE id > ? ORDER BY id LIMIT ?`,
          [next, this.opts.batch],
        );
        gaps.read(
          next,
          rows.map((r) => Number(r.id)),
          Date.now(),
        );
        if (rows.length > 0) {
          await this.takeIn(rows as CounterRow[]);
          next = Number(rows[rows.length - 1]?.id);
        }
        full = rows.length === this.opts.batch;
        await this.takeInLate(gaps);
        // every row up to here is recorded and enqueued (takeIn resolved)
        const position = gaps.safeCursor(next);
        if (position !== offered) {
          saves.offer(position);
          offered = position;
        }
      } catch (err) {
        this.log.error({ err }, 'intake poll failed; retrying');
      }
      if (!full) await this.pause();
    }
    await saves.flush();
  }

  /** Rows that committed after a higher id had been read. */
  private async takeInLate(gaps: IdGaps): Promise<void> {
    const wanted = gaps.pending(Date.now());
    if (wanted.length === 0) return;
    const [late] = await this.counterPool.query<RowDataPacket[]>(
      `SELECT ${COLUMNS} FROM sync_order WHERE id IN (?)`,
      [wanted],
    );
    if (late.length === 0) return;
    await this.takeIn(late as CounterRow[]);
    for (const r of late) gaps.filled(Number(r.id));
    this.counts.late += late.length;
    this.log.info({ ids: late.map((r) => r.id) }, 'counter rows committed out of id order taken in');
  }

  private async saveCursor(position: number): Promise<void> {
    await this.guard((conn) =>
      conn.query(
        'INSERT INTO intake_cursor (source, position, updated_ms) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE position=VALUES(position), updated_ms=VALUES(updated_ms)',
        [SOURCE, position, Date.now()],
      ),
    );
  }

  private async takeIn(rows: CounterRow[]): Promise<void> {
    const orders: IntakeOrder[] = [];
    const rejections: Rejection[] = [];
    for (const row of rows) {
      const d = decideCounterRow(row, this.opts.shards);
      if (d.kind === 'order') orders.push(d.order);
      else if (d.kind === 'rejected') {
        rejections.push({
          sourceRef: `sync_order:${row.id}`,
          orderId: d.orderId,
          reason: d.reason,
          raw: JSON.stringify(row),
        });
      } else this.counts.ignored++;
    }
    await this.intake.reject(rejections, SOURCE);
    this.counts.orders += await this.intake.takeIn(orders, SOURCE);
    this.counts.rows += rows.length;
    this.counts.rejected += rejections.length;
    for (const r of rejections) this.log.warn({ ref: r.sourceRef, reason: r.reason }, 'counter row rejected');
  }

  private async readCursor(): Promise<number> {
    const [rows] = await this.enginePool.query<RowDataPacket[]>(
      'SELECT position FROM intake_cursor WHERE source=?',
      [SOURCE],
    );
    return Number(rows[0]?.position ?? 0);
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      this.timer = { resolve, handle: setTimeout(resolve, this.opts.intervalMs) };
    });
  }
}
