import mysql, { type RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../infra/mysql/client.js';
import type { CopyOrder } from '../domain/copy-order.js';
import { repairKey } from '../domain/drift.js';
import type { RefusalStreak } from '../domain/refusal-streak.js';
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

/** How a finished signal ended (copy_signal.outcome). */
export type SignalOutcome = 'fanned-out' | 'dead-lettered';

/** What one batch of a fan-out writes: its orders, its skips, the slices they changed. */
export interface BatchRecord {
  signalKey: string;
  orders: PlacedOrder[];
  skips: CopySkip[];
  slices: { slice: Slice; shareAccrued: string }[];
  /** follows whose refusal streak this batch moves (refusal-pause.ts); null: ended */
  refusals?: StreakChange[];
}

/** A follow's refusal streak as a batch leaves it. */
export interface StreakChange {
  copierId: string;
  traderId: string;
  streak: RefusalStreak | null;
}

/**
 * A value as an SQL literal. What the fan-out writes is almost all ids, keys, decimal
 * strings and codes, which hold no quote or backslash: those are quoted as they are (the
 * generic escaper cost more than a millisecond per 5,000-copier signal); anything else
 * (a skip's detail) goes through mysql2's escaping.
 */
const PLAIN = /^[\w.:@/|+-]*$/;
/**
 * The upsert of copy_slice rows (each slice written whole, as the book holds it), `values`
 * the rows after VALUES: literal tuples, or `?` for mysql2 to expand an array of sliceRow.
 */
export const sliceUpsert = (values: string): string =>
  `INSERT INTO copy_slice (copier_id, trader_id, instrument, side, qty, avg_entry_price, realised_pnl, fees, held_fees, share_accrued, updated_ms) VALUES ${values}
     ON DUPLICATE KEY UPDATE qty=VALUES(qty), avg_entry_price=VALUES(avg_entry_price), realised_pnl=VALUES(realised_pnl),
       fees=VALUES(fees), held_fees=VALUES(held_fees), share_accrued=VALUES(share_accrued), updated_ms=VALUES(updated_ms)`;

/** One copy_slice row's values, in sliceUpsert's column order. */
export const sliceRow = (s: Slice, shareAccrued: string, now: number): (string | number)[] => [
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
];

const lit = (v: string | number | null | undefined): string =>
  v === null || v === undefined
    ? 'NULL'
    : typeof v === 'number'
      ? String(v)
      : PLAIN.test(v)
        ? `'${v}'`
        : mysql.escape(v);

/**
 * The fan-out's MySQL writes: one round trip per batch (a multi-statement transaction).
 * Slices are written as absolute values computed in memory, and orders and skips are
 * inserted once per (signal, copier), so a batch written twice leaves the same rows.
 */
export function batchSql(b: BatchRecord, now = Date.now()): string {
  const parts = ['START TRANSACTION'];
  const key = lit(b.signalKey);
  if (b.orders.length > 0) {
    const rows = b.orders.map(
      (p) =>
        `(${lit(p.order.clientOrderId)},${key},${lit(p.order.copierId)},${lit(p.order.traderId)},${lit(p.order.instrument)},${lit(p.order.action)},${lit(p.order.side)},${lit(p.fillQty ?? p.order.qty)},${lit(p.status)},${lit(p.fillPrice)},${lit(p.fee)},${lit(p.errorCode)},${now})`,
    );
    parts.push(
      `INSERT IGNORE INTO copy_order (client_order_id, signal_key, copier_id, trader_id, instrument, action, side, qty, status, fill_price, fee, error_code, created_ms) VALUES ${rows.join(',')}`,
    );
  }
  if (b.skips.length > 0) {
    const rows = b.skips.map(
      (k) =>
        `(${key},${lit(k.copierId)},${lit(k.traderId)},${lit(k.reason)},${lit(k.detail.slice(0, 255))},${now})`,
    );
    parts.push(
      `INSERT IGNORE INTO copy_skip (signal_key, copier_id, trader_id, reason, detail, created_ms) VALUES ${rows.join(',')}`,
    );
  }
  if (b.slices.length > 0) {
    const rows = b.slices.map(
      ({ slice, shareAccrued }) => `(${sliceRow(slice, shareAccrued, now).map(lit).join(',')})`,
    );
    parts.push(sliceUpsert(rows.join(',')));
  }
  if (b.refusals !== undefined) parts.push(...refusalsSql(b.refusals));
  parts.push('COMMIT');
  return `${parts.join(';\n')};`;
}

/** Streaks as absolute values (a batch written twice leaves the same rows); an ended one deleted. */
function refusalsSql(changes: readonly StreakChange[]): string[] {
  const out: string[] = [];
  const set = changes.filter((c) => c.streak !== null);
  if (set.length > 0) {
    const rows = set.map(
      ({ copierId, traderId, streak: s }) =>
        `(${lit(copierId)},${lit(traderId)},${lit(s?.code)},${lit(s?.count)},${lit(s?.lastMs)})`,
    );
    out.push(
      `INSERT INTO copy_follow_refusal (copier_id, trader_id, code, count, last_ms) VALUES ${rows.join(',')}
         ON DUPLICATE KEY UPDATE code=VALUES(code), count=VALUES(count), last_ms=VALUES(last_ms)`,
    );
  }
  const ended = changes.filter((c) => c.streak === null);
  if (ended.length > 0) {
    const pairs = ended.map((c) => `(${lit(c.copierId)},${lit(c.traderId)})`);
    out.push(`DELETE FROM copy_follow_refusal WHERE (copier_id, trader_id) IN (${pairs.join(',')})`);
  }
  return out;
}

export class CopyStore {
  /** `writer` must allow multiple statements (one round trip per batch). */
  constructor(
    private readonly pool: Pool,
    private readonly writer: Pool,
    /** the fan-out partition this store records for (copy_signal.part; 0 with one partition) */
    private readonly part = 0,
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

  /**
   * A signal finished in this store's partition: every copier of it has its order or skip,
   * or it is being dead-lettered.
   * Either way it is not queued again when the engine starts (requeue.ts).
   */
  async signalDone(
    signalKey: string,
    traderId: string,
    payload: string,
    receivedMs: number,
    counts: { orders: number; skips: number },
    outcome: SignalOutcome = 'fanned-out',
  ): Promise<void> {
    await this.pool.query(
      'INSERT INTO copy_signal (signal_key, part, trader_id, payload, received_ms, done_ms, orders, skips, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE done_ms=VALUES(done_ms), orders=VALUES(orders), skips=VALUES(skips), outcome=VALUES(outcome)',
      [signalKey, this.part, traderId, payload, receivedMs, Date.now(), counts.orders, counts.skips, outcome],
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

  /**
   * Recovery only (a signal delivered again): the copiers that already have their order or
   * skip, or whose lost copy drift repair has placed or settled since (`drift/{signalKey}`).
   */
  async recordedCopiers(signalKey: string): Promise<Set<string>> {
    const repair = repairKey(signalKey);
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT copier_id FROM copy_order WHERE signal_key IN (?, ?) UNION SELECT copier_id FROM copy_skip WHERE signal_key IN (?, ?)',
      [signalKey, repair, signalKey, repair],
    );
    return new Set(rows.map((r) => r.copier_id as string));
  }
}
