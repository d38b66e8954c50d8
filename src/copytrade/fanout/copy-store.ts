import mysql, { type RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../infra/mysql/client.js';
import type { CopyOrder } from '../domain/copy-order.js';
import type { CopySkip } from '../domain/skip-reasons.js';
import type { Slice } from '../domain/slices.js';

/** An order as the exchange answered it. */
export interface PlacedOrder {
  order: CopyOrder;
  status: 'FILLED' | 'REJECTED';
  fillQty?: string;
  fillPrice?: string;
  fee?: string;
  errorCode?: string;
}

/** What one batch of a fan-out writes: its orders, its skips, the slices they changed. */
export interface BatchRecord {
  signalKey: string;
  orders: PlacedOrder[];
  skips: CopySkip[];
  slices: { slice: Slice; shareAccrued: string }[];
}

/**
 * The fan-out's MySQL writes: one round trip per batch (a multi-statement transaction).
 * Slices are written as absolute values computed in memory, and orders and skips are
 * inserted once per (signal, copier), so a batch written twice leaves the same rows.
 */
export function batchSql(b: BatchRecord, now = Date.now()): string {
  const parts = ['START TRANSACTION'];
  if (b.orders.length > 0) {
    parts.push(
      mysql.format(
        'INSERT IGNORE INTO copy_order (client_order_id, signal_key, copier_id, trader_id, instrument, action, side, qty, status, fill_price, fee, error_code, created_ms) VALUES ?',
        [
          b.orders.map((p) => [
            p.order.clientOrderId,
            b.signalKey,
            p.order.copierId,
            p.order.traderId,
            p.order.instrument,
            p.order.action,
            p.order.side,
            p.fillQty ?? p.order.qty,
            p.status,
            p.fillPrice ?? null,
            p.fee ?? null,
            p.errorCode ?? null,
            now,
          ]),
        ],
      ),
    );
  }
  if (b.skips.length > 0) {
    parts.push(
      mysql.format(
        'INSERT IGNORE INTO copy_skip (signal_key, copier_id, trader_id, reason, detail, created_ms) VALUES ?',
        [b.skips.map((s) => [b.signalKey, s.copierId, s.traderId, s.reason, s.detail.slice(0, 255), now])],
      ),
    );
  }
  if (b.slices.length > 0) {
    parts.push(
      mysql.format(
        `INSERT INTO copy_slice (copier_id, trader_id, instrument, side, qty, avg_entry_price, realised_pnl, fees, held_fees, share_accrued, updated_ms) VALUES ?
         ON DUPLICATE KEY UPDATE qty=VALUES(qty), avg_entry_price=VALUES(avg_entry_price), realised_pnl=VALUES(realised_pnl),
           fees=VALUES(fees), held_fees=VALUES(held_fees), share_accrued=VALUES(share_accrued), updated_ms=VALUES(updated_ms)`,
        [
          b.slices.map(({ slice: s, shareAccrued }) => [
            s.copierId,
            s.traderId,
            s.instrument,
            s.side,
            s.qty,
            s.avgEntryPrice,
            s.realisedPnl,
            s.fees,
            s.heldFees,
            shareAccrued,
            now,
          ]),
        ],
      ),
    );
  }
  parts.push('COMMIT');
  return `${parts.join(';\n')};`;
}

export class CopyStore {
  /** `writer` must allow multiple statements (one round trip per batch). */
  constructor(
    private readonly pool: Pool,
    private readonly writer: Pool,
  ) {}

  async writeBatch(b: BatchRecord): Promise<void> {
    if (b.orders.length + b.skips.length === 0) return;
    const conn = await this.writer.getConnection();
    try {
      await conn.query(batchSql(b));
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }

  /** A signal whose every copier has its order or skip. */
  async signalDone(
    signalKey: string,
    traderId: string,
    payload: string,
    receivedMs: number,
    counts: { orders: number; skips: number },
  ): Promise<void> {
    await this.pool.query(
      'INSERT INTO copy_signal (signal_key, trader_id, payload, received_ms, done_ms, orders, skips) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE done_ms=VALUES(done_ms), orders=VALUES(orders), skips=VALUES(skips)',
      [signalKey, traderId, payload, receivedMs, Date.now(), counts.orders, counts.skips],
    );
  }

  /** Recovery only: the orders and skips recorded for a signal. */
  async countsOf(signalKey: string): Promise<{ orders: number; skips: number }> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT (SELECT COUNT(*) FROM copy_order WHERE signal_key=?) AS orders, (SELECT COUNT(*) FROM copy_skip WHERE signal_key=?) AS skips',
      [signalKey, signalKey],
    );
    return { orders: Number(rows[0]?.orders), skips: Number(rows[0]?.skips) };
  }

  /** The orders recorded under signal keys that start with `prefix` (a close-out's slices). */
  async ordersUnder(prefix: string): Promise<number> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM copy_order WHERE signal_key LIKE ?',
      [`${prefix.replace(/[\\%_]/g, '\\$&')}%`],
    );
    return Number(rows[0]?.n);
  }

  /** Recovery only (a signal delivered again): the copiers that already have their order or skip. */
  async recordedCopiers(signalKey: string): Promise<Set<string>> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT copier_id FROM copy_order WHERE signal_key=? UNION SELECT copier_id FROM copy_skip WHERE signal_key=?',
      [signalKey, signalKey],
    );
    return new Set(rows.map((r) => r.copier_id as string));
  }
}
