import type { Pool } from '../infra/mysql/client.js';
import type { CounterOrderRow } from './counter-orders.js';

const CHUNK = 500;
const INSERT =
  'INSERT INTO sync_order (order_id, shard, user_id, biz_type, flow, asset, qty, usdt, created_ms) VALUES ?';

/** Wall-clock ms with sub-ms precision. */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

/**
 * Timers have ms granularity and fire up to ~1 ms late: a timer is aimed this far before the
 * arrival and the rest is slept out in the kernel (below), not spun, because the generator
 * may run real-time (scripts/bench/sched.ts) and a real-time spin takes a core from the system
 * under test.
 */
export const TIMER_EARLY_MS = 1;
const futexWord = new Int32Array(new SharedArrayBuffer(4));
/** Blocks this thread until `untilMs` (epoch ms) in a futex wait: a sleep with µs precision. */
function sleepUntil(untilMs: number): number {
  const from = preciseNow();
  for (let left = untilMs - from; left > 0; left = untilMs - preciseNow())
    Atomics.wait(futexWord, 0, 0, left);
  return preciseNow() - from;
}

export interface OpenLoopResult {
  /** per row: issue time − scheduled time, ms */
  lagMs: Float64Array;
  inserts: number;
  /** rows issued more than 1 ms late because every connection was busy (the rest of the lag: this process not running in time) */
  heldByConnections: number;
  /** ms this thread slept in the last sub-ms to ms before arrivals (its event loop blocked meanwhile) */
  sleptMs: number;
}

/**
 * Writes each row into the counter's sync-order table at its scheduled time (`dueMs[i]`,
 * epoch ms, ascending), whatever the system under test does: up to `connections` INSERTs
 * in flight at once, so one slow INSERT does not hold the next; rows due together go in one
 * INSERT. created_ms is the scheduled time (floored to the ms), so latency measured from it
 * includes any delay of the generator itself; that delay (the lag) is returned per row.
 * `pool` must have at least `connections` connections, or the pool's own queue hides lag.
 */
export function writeOpenLoop(
  pool: Pool,
  rows: CounterOrderRow[],
  dueMs: number[],
  connections: number,
): Promise<OpenLoopResult> {
  const lagMs = new Float64Array(rows.length);
  let next = 0;
  let inFlight = 0;
  let inserts = 0;
  let held = 0;
  let slept = 0;
  let saturated = false;
  let timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  return new Promise((resolve, reject) => {
    let failed = false;
    const pump = (): void => {
      timer = null;
      if (failed) return;
      const now = preciseNow();
      const wasSaturated = saturated;
      saturated = false;
      while (inFlight < connections && next < rows.length && (dueMs[next] as number) <= now) {
        let end = next;
        while (end < rows.length && end - next < CHUNK && (dueMs[end] as number) <= now) end++;
        const values = [];
        for (let i = next; i < end; i++) {
          const r = rows[i] as CounterOrderRow;
          const due = dueMs[i] as number;
          lagMs[i] = now - due;
          if (wasSaturated && now - due > 1) held++;
          values.push([
            r.orderId,
            r.shard,
            r.userId,
            r.bizType,
            r.flow,
            r.asset,
            r.qty,
            r.usdt,
            Math.floor(due),
          ]);
        }
        next = end;
        inFlight++;
        inserts++;
        pool.query(INSERT, [values]).then(
          () => {
            inFlight--;
            if (next >= rows.length && inFlight === 0)
              resolve({ lagMs, inserts, heldByConnections: held, sleptMs: slept });
            else if (timer === null) pump();
          },
          (err) => {
            failed = true;
            reject(err);
          },
        );
      }
      if (next >= rows.length) {
        if (inFlight === 0) resolve({ lagMs, inserts, heldByConnections: held, sleptMs: slept });
        return;
      }
      // all connections busy: the next completion pumps
      if (inFlight >= connections) {
        saturated = true;
        return;
      }
      const due = dueMs[next] as number;
      const wait = due - preciseNow();
      // the sleep waits for an immediate, not here: mysql2 hands out a pool connection in
      // process.nextTick, so the INSERTs just issued reach their sockets only after this returns
      timer =
        wait > TIMER_EARLY_MS
          ? setTimeout(pump, Math.floor(wait - TIMER_EARLY_MS))
          : setImmediate(() => {
              slept += sleepUntil(due);
              pump();
            });
    };
    pump();
  });
}
