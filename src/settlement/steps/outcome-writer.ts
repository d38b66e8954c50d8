import type { PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { money } from '../../domain/money.js';
import type { Pool } from '../../infra/mysql/client.js';
import { LAST_STEP, type Step } from '../domain/flows.js';

export type StepStatus = 'OK' | 'RETRY' | 'FAILED';

/** The outcome of one attempt of one step of one order. */
export interface StepOutcome {
  orderId: string;
  step: Step;
  attempt: number;
  status: StepStatus;
  /** OK: what the next step spends (the step's result) */
  carry: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  startedMs: number;
  finishedMs: number;
}

/**
 * recorded: this outcome is now the order's state.
 * already: an earlier run of the same attempt recorded the same outcome (and may have died
 *   before acting on it): act on it again; `carry` is the recorded one.
 * stale: the order is elsewhere (`current`, null if unknown); drop this run.
 */
export type Verdict =
  | { kind: 'recorded' }
  | { kind: 'already'; carry: string | null }
  | { kind: 'stale'; current: OrderState | null };

interface Pending {
  outcome: StepOutcome;
  resolve: (verdict: Verdict) => void;
  reject: (err: Error) => void;
}

export interface OrderState {
  status: string;
  step: number;
  attempt: number;
}

const DEADLOCK = new Set([1213, 1205]);

const LOG_COLUMNS =
  'order_id, step, attempt, status, error_code, error_message, result, started_ms, finished_ms, latency_ms';
/** the step log's row, written only when the UPDATE just before it changed the order (it won) */
const LOG_INSERT = `INSERT INTO settlement_step (${LOG_COLUMNS}) SELECT ${LOG_COLUMNS.split(', ')
  .map(() => '?')
  .join(', ')} FROM DUAL WHERE ROW_COUNT() = 1 ON DUPLICATE KEY UPDATE ${LOG_COLUMNS.split(', ')
  .slice(3)
  .map((c) => `${c}=VALUES(${c})`)
  .join(', ')}`;

/**
 * Writes step outcomes to MySQL before the message moves on, in batches: while one
 * transaction commits, the next outcomes gather, so the log flushes of many steps are
 * shared (group commit) without waiting on a timer.
 *
 * Each outcome is gated on the order's row: it is recorded only when the order is still
 * RUNNING at that step and attempt. A duplicate execution (a claimed entry whose first
 * consumer was only slow, a redrive of an order that was merely queued) then finds the
 * order moved on and is reported stale, so only one execution ever hands an order on.
 */
export class OutcomeWriter {
  private readonly queue: Pending[] = [];
  private inFlight = 0;

  constructor(
    private readonly pool: Pool,
    private readonly opts: { maxBatch: number; maxInFlight: number },
  ) {}

  commit(outcome: StepOutcome): Promise<Verdict> {
    return new Promise((resolve, reject) => {
      this.queue.push({ outcome, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxInFlight && this.queue.length > 0) {
      // rows locked in id order: two concurrent batches never wait on each other in a cycle
      const batch = this.queue
        .splice(0, this.opts.maxBatch)
        .sort((a, b) => (a.outcome.orderId < b.outcome.orderId ? -1 : 1));
      this.inFlight++;
      this.write(batch)
        .catch((err: Error) => {
          for (const p of batch) p.reject(err);
        })
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    for (let tries = 1; ; tries++) {
      const conn = await this.pool.getConnection();
      try {
        const verdicts = await this.transact(conn, batch);
        for (const [i, p] of batch.entries()) p.resolve(verdicts[i] as Verdict);
        return;
      } catch (err) {
        await conn.query('ROLLBACK').catch(() => undefined);
        const errno = (err as { errno?: number }).errno;
        if (errno !== undefined && DEADLOCK.has(errno) && tries < 5) continue;
        // one outcome MySQL refuses must not sink the others: write each on its own
        if (errno !== undefined && batch.length > 1) {
          for (const p of batch) this.write([p]).catch(p.reject);
          return;
        }
        throw err;
      } finally {
        conn.release();
      }
    }
  }

  /**
   * One round trip: each outcome's UPDATE applies only where the order is still at that
   * step and attempt (its affected-row count says whether it won), and the step-log INSERT
   * right after it writes only when it did (ROW_COUNT(): a winning UPDATE always changes
   * the row, its step, attempt or status moving on).
   */
  private async transact(conn: PoolConnection, batch: Pending[]): Promise<Verdict[]> {
    const now = Date.now();
    const statements = ['START TRANSACTION'];
    for (const { outcome: o } of batch) {
      const next = nextState(o);
      const carry = o.status === 'OK' ? o.carry : null;
      statements.push(
        conn.format(
          "UPDATE settlement_order SET status=?, step=?, attempt=?, carry=COALESCE(?, carry), error_code=?, error_message=?, updated_ms=?, done_ms=? WHERE order_id=? AND status='RUNNING' AND step=? AND attempt=?",
          [
            next.status,
            next.step,
            next.attempt,
            carry,
            o.errorCode,
            clip(o.errorMessage),
            now,
            next.status === 'DONE' ? o.finishedMs : null,
            o.orderId,
            o.step,
            o.attempt,
          ],
        ),
        conn.format(LOG_INSERT, [
          o.orderId,
          o.step,
          o.attempt,
          o.status,
          o.errorCode,
          clip(o.errorMessage),
          carry,
          o.startedMs,
          o.finishedMs,
          o.finishedMs - o.startedMs,
        ]),
      );
    }
    statements.push('COMMIT');
    // results: START, then per outcome its UPDATE and its step-log INSERT, then COMMIT
    const [results] = await conn.query<ResultSetHeader[]>(statements.join(';\n'));
    const won = batch.map((_, i) => results[1 + 2 * i]?.affectedRows === 1);
    const lost = batch.filter((_, i) => !won[i]).map((p) => p.outcome.orderId);
    // the rare loser: was it recorded by an earlier run of the same attempt, or is it stale?
    const state = new Map<string, RowDataPacket>();
    if (lost.length > 0) {
      const [rows] = await conn.query<RowDataPacket[]>(
        'SELECT order_id, status, step, attempt, carry FROM settlement_order WHERE order_id IN (?)',
        [lost],
      );
      for (const r of rows) state.set(r.order_id as string, r);
    }
    return batch.map(({ outcome: o }, i): Verdict => {
      if (won[i]) return { kind: 'recorded' };
      const r = state.get(o.orderId);
      if (!r) return { kind: 'stale', current: null };
      const next = nextState(o);
      if (r.status === next.status && r.step === next.step && r.attempt === next.attempt) {
        return { kind: 'already', carry: r.carry === null ? null : money(r.carry).toFixed() };
      }
      return { kind: 'stale', current: { status: r.status, step: r.step, attempt: r.attempt } };
    });
  }
}

function nextState(o: StepOutcome): OrderState {
  switch (o.status) {
    case 'OK':
      return o.step === LAST_STEP
        ? { status: 'DONE', step: o.step, attempt: o.attempt }
        : { status: 'RUNNING', step: o.step + 1, attempt: 1 };
    case 'RETRY':
      return { status: 'RUNNING', step: o.step, attempt: o.attempt + 1 };
    case 'FAILED':
      return { status: 'MANUAL', step: o.step, attempt: o.attempt };
  }
}

const clip = (s: string | null): string | null => (s === null ? null : s.slice(0, 500));
