/**
 * One settlement run: three `tradeflow start` processes (so there is a coordinator and
 * engines that are not), a few hundred counter orders written at a steady rate while the
 * planned faults hit, then a bounded wait for every order to finish and the checks: every
 * order DONE or MANUAL with a reason, each (order, step) effect once in the simulator's
 * ledger, each DONE order with all four effects, money conserved.
 */
import { Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import type { FaultEndpoint } from '../../src/clients/wire.js';
import type { Pool } from '../../src/infra/mysql/client.js';
import { type CounterOrderRow, makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { ledgerCheck } from '../../src/settlement/ops/ledger-report.js';
import { runningEngines } from '../../src/settlement/steps/presence.js';
import { planFaults, runPlan } from './faults.js';
import { freshResult, type RunResult } from './result.js';
import { Rng } from './rng.js';
import type { OwnMariaDb, OwnRedis } from './services.js';
import { HTTP_TIMEOUT_MS, openWorld, PREFIX, poll, TTL_MS } from './world.js';

const ENGINES = 3;
const ORDERS = 300;
const RATE = 30;
/** after the load and the last fault: long enough for a redrive (TF_RECOVERY_IDLE_MS 6 s) and retries */
const SETTLE_MS = 60_000;
const ENDPOINTS: FaultEndpoint[] = ['counter/swap', 'funding/transfer', 'trade/market', 'counter/orders'];

export async function settlementRun(
  services: { redis: OwnRedis; mysql: OwnMariaDb },
  run: number,
  seed: number,
  logRoot: string,
): Promise<RunResult> {
  const started = Date.now();
  const rng = new Rng(seed);
  const runId = `r${seed}`;
  const rows = makeCounterRows(ORDERS, { flow: 'mixed', shards: 4, runId }, rng.next);
  // faults while the orders are written and for 8 s after, while the last ones are in flight
  const plan = planFaults(rng, Math.round((ORDERS / RATE) * 1000) + 8000);
  const result: RunResult = { ...freshResult('settlement', run, seed), orders: ORDERS };
  const world = await openWorld(services, 'start', logRoot, `settlement-${seed}`);
  const redis = new Redis(services.redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  // the campaign restarts this Redis: an error is a probe that says not yet
  redis.on('error', () => undefined);
  let failed = true;
  try {
    world.fleet.startEngines(ENGINES);
    const up = await poll(
      async () => ((await runningEngines(redis, PREFIX)).length >= ENGINES ? true : undefined),
      30_000,
    );
    if (!up) throw new Error(`${ENGINES} engines did not start within 30 s`);

    // 1. the load and the faults at once
    const targets = {
      fleet: world.fleet,
      redis: services.redis,
      mysql: services.mysql,
      sim: world.sim,
      engineDb: world.engineDb,
      role: 'settlement',
      ttlMs: TTL_MS,
      httpTimeoutMs: HTTP_TIMEOUT_MS,
      endpoints: ENDPOINTS,
    };
    const [, counts] = await Promise.all([
      writeSteadily(world.counterDb, rows, RATE, result.notes),
      runPlan(plan, rng, targets, result.faultLog),
    ]);
    result.faults = counts;

    // 2. a bounded wait for every order to finish
    const like = `${runId}-%`;
    const finished = await poll(async () => {
      const c = await statusCounts(world.engineDb, like);
      return c.DONE + c.MANUAL === ORDERS ? c : undefined;
    }, SETTLE_MS);
    if (!finished) result.notes.push(`not all finished ${SETTLE_MS / 1000} s after the last fault`);

    // 3. the checks
    const [byStatus] = await world.engineDb.query<RowDataPacket[]>(
      `SELECT status, COALESCE(error_code, '') AS code, COUNT(*) AS n FROM settlement_order
        WHERE order_id LIKE ? GROUP BY status, code`,
      [like],
    );
    let settled = 0;
    for (const r of byStatus) {
      const n = Number(r.n);
      if (r.status === 'DONE' || (r.status === 'MANUAL' && r.code !== '')) settled += n;
      if (r.status !== 'DONE') result.notes.push(`${n} ${r.status}${r.code ? ` ${r.code}` : ''}`);
    }
    result.lost = ORDERS - settled;
    if (result.lost > 0) result.notes.push(`lost: ${await lostSample(world.engineDb, rows, like)}`);
    const ledger = await ledgerCheck(world.simUrl, world.engineDb, `${runId}-`);
    result.doubled = ledger.doubleEffects;
    result.ledgerOk = ledger.conserved && ledger.missingEffects === 0;
    if (!ledger.conserved) result.notes.push('simulator ledger: money not conserved');
    if (ledger.missingEffects) result.notes.push(`${ledger.missingEffects} effects of DONE orders missing`);
    result.notes.push(...world.fleet.unexpectedExits);
    failed = false;
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    redis.disconnect();
    result.seconds = Math.round((Date.now() - started) / 1000);
    const keep = failed || result.lost > 0 || result.doubled > 0 || !result.ledgerOk;
    await world.close(keep);
    if (keep) result.notes.push(`logs in ${world.logDir}`);
  }
  return result;
}

/**
 * Writes the rows at `rate` per second in 200 ms batches, as the counter would; a batch that
 * fails (MariaDB restarting) is written again until it goes in, for up to a minute. A
 * duplicate key on a retry means the batch went in before the connection broke.
 */
async function writeSteadily(
  db: Pool,
  rows: CounterOrderRow[],
  rate: number,
  notes: string[],
): Promise<void> {
  const perBatch = Math.max(1, Math.round(rate / 5));
  const start = Date.now();
  for (let i = 0, batch = 0; i < rows.length; i += perBatch, batch++) {
    const due = start + batch * 200;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    const chunk = rows.slice(i, i + perBatch);
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await writeCounterRows(db, chunk);
        break;
      } catch (err) {
        if ((err as { code?: string }).code === 'ER_DUP_ENTRY') break;
        if (Date.now() > deadline) {
          notes.push(
            `counter rows ${i}..${i + chunk.length - 1} could not be written: ${(err as Error).message}`,
          );
          throw err;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}

async function statusCounts(
  db: Pool,
  like: string,
): Promise<{ DONE: number; MANUAL: number; RUNNING: number }> {
  const [rows] = await db.query<RowDataPacket[]>(
    'SELECT status, COUNT(*) AS n FROM settlement_order WHERE order_id LIKE ? GROUP BY status',
    [like],
  );
  const c = { DONE: 0, MANUAL: 0, RUNNING: 0 };
  for (const r of rows) c[r.status as keyof typeof c] = Number(r.n);
  return c;
}

/** A few of the lost orders, with where each stood: absent from the engine, or its status and last step. */
async function lostSample(db: Pool, rows: CounterOrderRow[], like: string): Promise<string> {
  const [known] = await db.query<RowDataPacket[]>(
    `SELECT o.order_id, o.status, o.error_code, MAX(s.step) AS step FROM settlement_order o
       LEFT JOIN settlement_step s ON s.order_id = o.order_id AND s.status = 'OK'
      WHERE o.order_id LIKE ? AND NOT (o.status = 'DONE' OR (o.status = 'MANUAL' AND COALESCE(o.error_code, '') <> ''))
      GROUP BY o.order_id, o.status, o.error_code LIMIT 5`,
    [like],
  );
  const [all] = await db.query<RowDataPacket[]>(
    'SELECT order_id FROM settlement_order WHERE order_id LIKE ?',
    [like],
  );
  const present = new Set(all.map((r) => String(r.order_id)));
  const absent = rows.filter((r) => !present.has(r.orderId)).map((r) => r.orderId);
  const parts = known.map((r) => `${r.order_id} ${r.status} after step ${r.step ?? 0}`);
  if (absent.length) parts.push(`${absent.length} never taken in (e.g. ${absent.slice(0, 3).join(', ')})`);
  return parts.join('; ');
}
