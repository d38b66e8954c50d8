import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../infra/mysql/client.js';
import type { RedisClient } from '../../infra/redis.js';
import type { OrderStatus } from '../domain/order.js';
import { messageFromRow, redrive } from '../steps/redrive.js';

/** Operator views and actions on settlement orders (CLI and Bull Board). */

export async function countByStatus(pool: Pool): Promise<Record<OrderStatus | 'total', number>> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT status, COUNT(*) AS n FROM settlement_order GROUP BY status',
  );
  const out = { RUNNING: 0, DONE: 0, MANUAL: 0, total: 0 };
  for (const r of rows) {
    out[r.status as OrderStatus] = Number(r.n);
    out.total += Number(r.n);
  }
  return out;
}

export interface ParkedOrder {
  orderId: string;
  flow: string;
  step: number;
  attempt: number;
  errorCode: string | null;
  errorMessage: string | null;
  updatedMs: number;
}

export async function listByStatus(pool: Pool, status: OrderStatus, limit = 100): Promise<ParkedOrder[]> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT order_id, flow, step, attempt, error_code, error_message, updated_ms FROM settlement_order WHERE status=? ORDER BY updated_ms LIMIT ?',
    [status, limit],
  );
  return rows.map((r) => ({
    orderId: r.order_id,
    flow: r.flow,
    step: r.step,
    attempt: r.attempt,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    updatedMs: Number(r.updated_ms),
  }));
}

export type RetryResult =
  | { retried: true; step: number; attempt: number }
  | { retried: false; reason: string };

/**
 * Redrives a MANUAL order from the step that failed, as a new attempt of that step (the
 * failed attempt stays in the step log). The conditional update makes a double retry a no-op.
 * With `at`, only the parking at that step and attempt is retried: a retry decided on an old
 * view (a board job of a parking already retried and parked again) must not retry the new one.
 */
export async function retryManual(
  pool: Pool,
  redis: RedisClient,
  prefix: string,
  orderId: string,
  at?: { step: number; attempt: number },
): Promise<RetryResult> {
  const [res] = await pool.query<ResultSetHeader>(
    `UPDATE settlement_order SET status='RUNNING', attempt=attempt+1, error_code=NULL, error_message=NULL, updated_ms=? WHERE order_id=? AND status='MANUAL'${at ? ' AND step=? AND attempt=?' : ''}`,
    at ? [Date.now(), orderId, at.step, at.attempt] : [Date.now(), orderId],
  );
  if (res.affectedRows !== 1) {
    const [rows] = await pool.query<RowDataPacket[]>(
      'SELECT status, step, attempt FROM settlement_order WHERE order_id=?',
      [orderId],
    );
    const r = rows[0];
    if (!r) return { retried: false, reason: 'no such order' };
    if (r.status !== 'MANUAL') return { retried: false, reason: `order is ${r.status}, not MANUAL` };
    if (!at) return { retried: false, reason: 'order changed while being retried; try again' };
    return {
      retried: false,
      reason: `order is MANUAL at step ${r.step} attempt ${r.attempt}, not step ${at.step} attempt ${at.attempt}`,
    };
  }
  const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM settlement_order WHERE order_id=?', [
    orderId,
  ]);
  const m = messageFromRow(rows[0] as RowDataPacket);
  await redrive(redis, prefix, m);
  return { retried: true, step: m.step, attempt: m.attempt };
}
