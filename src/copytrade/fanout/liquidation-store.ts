import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { inTransaction, type Pool } from '../../infra/mysql/client.js';
import type { CopierLiquidation, LiquidatedSlice } from '../domain/liquidation.js';
import type { WrittenKind } from '../notices/kinds.js';
import type { NoticeInput } from '../notices/notices.js';
import { sliceRow, sliceUpsert } from './copy-store.js';

/**
 * What a copier's liquidation writes, in one transaction, so that it takes effect once
 * however often the event comes: each slice's close (a copy_order row, status LIQUIDATED,
 * at the liquidation price, no fee), the slices as they now are, the follows paused, the
 * notices, and the liquidation's copy_signal row marked done (`trader_id` the copier's: it
 * is no trader's signal; its payload has no `action`, so the leaderboard never reads it as one).
 */
export interface LiquidationRecord {
  readonly key: string;
  readonly copierId: string;
  readonly liquidation: CopierLiquidation;
  readonly closes: readonly LiquidatedSlice[];
  /** traders whose follows (active) are paused */
  readonly paused: readonly string[];
  readonly notices: readonly NoticeInput<WrittenKind>[];
  readonly receivedMs: number;
}

export class LiquidationStore {
  constructor(
    private readonly pool: Pool,
    /** the fan-out partition whose accepted request this store marks done (copy_signal.part) */
    private readonly part = 0,
  ) {}

  /** Whether the liquidation `key` was recorded (by this process or an earlier holder of the fan-out). */
  async isDone(key: string): Promise<boolean> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT 1 FROM copy_signal WHERE signal_key=? AND done_ms IS NOT NULL',
      [key],
    );
    return rows.length > 0;
  }

  /** The liquidation accepted under `acceptKey` was taken: every copier of its account recorded (or none was one). */
  async accepted(acceptKey: string, slices: number): Promise<void> {
    await this.pool.query(
      "UPDATE copy_signal SET done_ms=?, orders=?, skips=0, outcome='fanned-out' WHERE signal_key=? AND part=? AND done_ms IS NULL",
      [Date.now(), slices, acceptKey, this.part],
    );
  }

  /** Writes the record; the notices' ids, in order (null for one a dedup key already held). */
  async write(r: LiquidationRecord): Promise<{ noticeIds: (number | null)[]; createdMs: number }> {
    const now = Date.now();
    return inTransaction(this.pool, async (conn) => {
      for (const c of r.closes) {
        await conn.query(
          "INSERT IGNORE INTO copy_order (client_order_id, signal_key, copier_id, trader_id, instrument, action, side, qty, status, fill_price, fee, error_code, created_ms) VALUES (?, ?, ?, ?, ?, 'close', ?, ?, 'LIQUIDATED', ?, '0', NULL, ?)",
          [
            `${c.key}:${r.copierId}`,
            c.key,
            r.copierId,
            c.before.traderId,
            c.before.instrument,
            c.before.side,
            c.before.qty,
            r.liquidation.price,
            now,
          ],
        );
        await conn.query(sliceUpsert('?'), [[sliceRow(c.after, c.shareAccrued, now)]]);
      }
      if (r.paused.length > 0) {
        await conn.query(
          "UPDATE copy_follow SET status='paused', updated_ms=? WHERE copier_id=? AND trader_id IN (?) AND status='active'",
          [now, r.copierId, r.paused],
        );
      }
      const noticeIds: (number | null)[] = [];
      for (const n of r.notices) {
        const [res] = await conn.query<ResultSetHeader>(
          'INSERT IGNORE INTO copy_notice (user_id, kind, dedup_key, payload, created_ms) VALUES (?, ?, ?, ?, ?)',
          [n.userId, n.kind, n.dedupKey, JSON.stringify(n.payload), now],
        );
        noticeIds.push(res.affectedRows === 1 ? res.insertId : null);
      }
      await conn.query(
        "INSERT INTO copy_signal (signal_key, trader_id, payload, received_ms, done_ms, orders, skips, outcome) VALUES (?, ?, ?, ?, ?, 0, 0, 'fanned-out') ON DUPLICATE KEY UPDATE done_ms=VALUES(done_ms)",
        [r.key, r.copierId, JSON.stringify(r.liquidation), r.receivedMs, now],
      );
      return { noticeIds, createdMs: now };
    });
  }
}
