import assert from 'node:assert/strict';
import type { RowDataPacket } from 'mysql2/promise';
import type { Pool } from '../../src/infra/mysql/client.js';
import { ledgerCheck } from '../../src/settlement/ops/ledger-report.js';
import { waitFor } from './harness.js';

export async function statusCounts(
  pool: Pool,
  prefix = '',
): Promise<{ RUNNING: number; DONE: number; MANUAL: number }> {
  const [rows] = await pool.query<RowDataPacket[]>(
    'SELECT status, COUNT(*) AS n FROM settlement_order WHERE order_id LIKE ? GROUP BY status',
    [`${prefix}%`],
  );
  const out = { RUNNING: 0, DONE: 0, MANUAL: 0 };
  for (const r of rows) out[r.status as keyof typeof out] = Number(r.n);
  return out;
}

/** Waits until `n` orders exist and none is RUNNING. */
export async function waitAllFinished(pool: Pool, n: number, timeoutMs = 60_000, prefix = '') {
  return waitFor(
    `${n} orders to finish`,
    async () => {
      const c = await statusCounts(pool, prefix);
      return c.DONE + c.MANUAL === n && c.RUNNING === 0 ? c : undefined;
    },
    timeoutMs,
    200,
  );
}

/**
 * From the step log: every DONE order has exactly one OK attempt per step, and no step
 * started before the previous step's OK attempt had finished.
 */
export async function assertStepsInOrder(pool: Pool): Promise<void> {
  const [overlaps] = await pool.query<RowDataPacket[]>(
    `SELECT a.order_id, a.step, a.finished_ms, b.started_ms FROM settlement_step a
       JOIN settlement_step b ON b.order_id = a.order_id AND b.step = a.step + 1
     WHERE a.status = 'OK' AND b.started_ms < a.finished_ms LIMIT 5`,
  );
  assert.deepEqual(overlaps, [], 'a step started before the previous one finished');
  const [bad] = await pool.query<RowDataPacket[]>(
    `SELECT o.order_id, COUNT(s.order_id) AS ok_steps, COUNT(DISTINCT s.step) AS steps FROM settlement_order o
       LEFT JOIN settlement_step s ON s.order_id = o.order_id AND s.status = 'OK'
     WHERE o.status = 'DONE' GROUP BY o.order_id HAVING ok_steps <> 4 OR steps <> 4 LIMIT 5`,
  );
  assert.deepEqual(bad, [], 'a DONE order without exactly one OK attempt per step');
}

/**
 * The simulator's ledger: money conserved, no effect twice, every DONE order's four effects
 * there; with `sequential`, also no call of an order while an earlier one was unanswered
 * (true whenever no client timed out: steps of one order never overlap downstream).
 */
export async function assertLedgerClean(simUrl: string, pool: Pool, opts: { sequential?: boolean } = {}) {
  const check = await ledgerCheck(simUrl, pool);
  assert.equal(check.conserved, true, 'money not conserved');
  assert.equal(check.doubleEffects, 0, 'an effect applied twice');
  assert.equal(check.missingEffects, 0, 'a DONE order misses an effect');
  if (opts.sequential) assert.equal(check.overlaps, 0, 'two calls of one order in flight at once');
  return check;
}
