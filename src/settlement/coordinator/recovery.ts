import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Logger } from '../../infra/log.js';
import type { Pool } from '../../infra/mysql/client.js';
import type { RedisClient } from '../../infra/redis.js';
import { messageFromRow, redrive } from '../steps/redrive.js';
import type { Duty, DutyWrite } from './duties.js';

/**
 * The recovery scan: every unfinished order nobody has touched for `idleMs` is redriven
 * from MySQL into the stream of its current step. This is what makes MySQL, not Redis, the
 * truth: a Redis that lost its streams (or a retry job) loses no order. A redrive of an
 * order that was merely slow is harmless: the outcome gate lets one run through.
 */
export class RecoveryScan implements Duty {
  readonly name = 'recovery';
  readonly intervalMs: number;

  constructor(
    private readonly pool: Pool,
    private readonly redis: RedisClient,
    private readonly opts: { prefix: string; idleMs: number; intervalMs: number; batch?: number },
    private readonly log: Logger,
  ) {
    this.intervalMs = opts.intervalMs;
  }

  /** One pass: claims idle orders under the fence, then redrives those it claimed. */
  async run(write: DutyWrite): Promise<void> {
    const now = Date.now();
    const [rows] = await this.pool.query<RowDataPacket[]>(
      "SELECT * FROM settlement_order WHERE status='RUNNING' AND updated_ms < ? ORDER BY updated_ms LIMIT ?",
      [now - this.opts.idleMs, this.opts.batch ?? 1000],
    );
    if (rows.length === 0) return;
    const claimed: RowDataPacket[] = [];
    await write(async (conn) => {
      // touching updated_ms claims the redrive (one statement, so the row locks are brief);
      // a second scan, or an order that moved meanwhile, no longer matches
      await conn.query<ResultSetHeader>(
        "UPDATE settlement_order SET updated_ms=? WHERE status='RUNNING' AND (order_id, updated_ms) IN (?)",
        [now, rows.map((r) => [r.order_id, r.updated_ms])],
      );
      const [mine] = await conn.query<RowDataPacket[]>(
        "SELECT order_id FROM settlement_order WHERE order_id IN (?) AND updated_ms=? AND status='RUNNING'",
        [rows.map((r) => r.order_id), now],
      );
      const ids = new Set(mine.map((m) => m.order_id as string));
      claimed.push(...rows.filter((r) => ids.has(r.order_id)));
      return claimed.length;
    });
    // after the commit: a crash before these leaves the orders for the next scan (idleMs later)
    for (const r of claimed) await redrive(this.redis, this.opts.prefix, messageFromRow(r));
    if (claimed.length > 0) this.log.warn({ redriven: claimed.length }, 'recovery scan redrove idle orders');
  }
}
