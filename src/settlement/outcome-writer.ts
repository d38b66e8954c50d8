import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { money } from '../domain/money.js';
import type { Pool } from '../infra/mysql/client.js';
import { LAST_STEP, type Step } from './flows.js';

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
 * stale: the order is elsewhere; drop this run.
 */
export type Verdict = { kind: 'recorded' } | { kind: 'already'; carry: string | null } | { kind: 'stale' };

interface Pending {
  outcome: StepOutcome;
  resolve: (verdict: Verdict) => void;
  reject: (err: Error) => void;
}

interface OrderState {
  status: string;
  step: number;
  attempt: number;
  carry?: string | null;
}

const DEADLOCK = new Set([1213, 1205]);

/**
 * Writes step outcomes to MySQL before the message moves on, in batches: while one
 * transaction commits, the next outcomes gather, so the log flushes of many steps are
 * shared (group commit) without waiting on a timer.
 *
 * Each outcome is gated on the order's row: it is recorded only when the order is still
 * RUNNING at that step and attempt. A duplicate execution (a claimed entry whose first
 * consumer was only slow, a re-drive of an order that was merely queued) then finds the
 * order moved on and is reported stale, so only one execution ever hands an order on.
 */
export class OutcomeWriter {
  private readonly queue: Pending[] = [];
  private inFlight = 0;

  constructor(
    private readonly pool: Pool,
    private readonly opts: { maxBatch: number; maxInFlight: number } = { maxBatch: 256, maxInFlight: 4 },
  ) {}

  commit(outcome: StepOutcome): Promise<Verdict> {
    return new Promise((resolve, reject) => {
      this.queue.push({ outcome, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxInFlight && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
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
        if (errno === undefined || !DEADLOCK.has(errno) || tries >= 5) throw err;
      } finally {
        conn.release();
      }
    }
  }

  /** Two round trips: lock the orders; then all updates, the step log and COMMIT in one. */
  private async transact(conn: PoolConnection, batch: Pending[]): Promise<Verdict[]> {
    const ids = [...new Set(batch.map((p) => p.outcome.orderId))].sort();
    const [results] = await conn.query<RowDataPacket[][]>(
      'START TRANSACTION; SELECT order_id, status, step, attempt, carry FROM settlement_order WHERE order_id IN (?) ORDER BY order_id FOR UPDATE',
      [ids],
    );
    const state = new Map<string, OrderState>();
    for (const r of results[1] ?? []) {
      state.set(r.order_id as string, {
        status: r.status as string,
        step: r.step as number,
        attempt: r.attempt as number,
        carry: r.carry === null ? null : money(r.carry).toFixed(),
      });
    }
    const now = Date.now();
    const statements: string[] = [];
    const logRows: unknown[][] = [];
    const verdicts = batch.map(({ outcome: o }): Verdict => {
      const s = state.get(o.orderId);
      const next = nextState(o);
      if (s && sameState(s, next)) return { kind: 'already', carry: s.carry ?? null };
      if (s?.status !== 'RUNNING' || s.step !== o.step || s.attempt !== o.attempt) return { kind: 'stale' };
      state.set(o.orderId, { ...next, carry: o.status === 'OK' ? o.carry : (s.carry ?? null) });
      statements.push(
        conn.format(
          'UPDATE settlement_order SET status=?, step=?, attempt=?, carry=COALESCE(?, carry), error_code=?, error_message=?, updated_ms=?, done_ms=? WHERE order_id=?',
          [
            next.status,
            next.step,
            next.attempt,
            o.status === 'OK' ? o.carry : null,
            o.errorCode,
            clip(o.errorMessage),
            now,
            next.status === 'DONE' ? o.finishedMs : null,
            o.orderId,
          ],
        ),
      );
      logRows.push([
        o.orderId,
        o.step,
        o.attempt,
        o.status,
        o.errorCode,
        clip(o.errorMessage),
        o.status === 'OK' ? o.carry : null,
        o.startedMs,
        o.finishedMs,
        o.finishedMs - o.startedMs,
      ]);
      return { kind: 'recorded' };
    });
    if (logRows.length > 0) {
      statements.push(
        conn.format(
          'INSERT INTO settlement_step (order_id, step, attempt, status, error_code, error_message, result, started_ms, finished_ms, latency_ms) VALUES ? ' +
            'ON DUPLICATE KEY UPDATE status=VALUES(status), error_code=VALUES(error_code), error_message=VALUES(error_message), result=VALUES(result), started_ms=VALUES(started_ms), finished_ms=VALUES(finished_ms), latency_ms=VALUES(latency_ms)',
          [logRows],
        ),
      );
    }
    statements.push('COMMIT');
    await conn.query(statements.join(';\n'));
    return verdicts;
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

const sameState = (a: OrderState, b: OrderState): boolean =>
  a.status === b.status && a.step === b.step && a.attempt === b.attempt;

const clip = (s: string | null): string | null => (s === null ? null : s.slice(0, 500));
