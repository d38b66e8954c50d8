import type { Pool } from '../infra/mysql/client.js';
import type { CounterOrderRow } from './counter-orders.js';

const TICK_MS = 5;
const CHUNK = 1000;

/**
 * Inserts rows into the counter's sync-order table, at `rate` rows per second when given
 * (as many as are due every 5 ms, in one INSERT), else as fast as it can. created_ms is
 * stamped just before each INSERT: end-to-end latency is measured from it.
 */
export async function writeCounterRows(pool: Pool, rows: CounterOrderRow[], rate?: number): Promise<void> {
  const start = Date.now();
  let written = 0;
  while (written < rows.length) {
    const due = rate
      ? Math.min(rows.length, Math.floor(((Date.now() - start) / 1000) * rate) + 1)
      : rows.length;
    while (written < due) {
      const chunk = rows.slice(written, Math.min(due, written + CHUNK));
      const now = Date.now();
      await pool.query(
        'INSERT INTO sync_order (order_id, shard, user_id, biz_type, flow, asset, qty, usdt, created_ms) VALUES ?',
        [chunk.map((r) => [r.orderId, r.shard, r.userId, r.bizType, r.flow, r.asset, r.qty, r.usdt, now])],
      );
      written += chunk.length;
    }
    if (written < rows.length) await new Promise((r) => setTimeout(r, TICK_MS));
  }
}
