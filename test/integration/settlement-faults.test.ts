import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { TestWorld, waitFor } from '../support/harness.js';
import {
  assertLedgerClean,
  assertStepsInOrder,
  statusCounts,
  waitAllFinished,
} from '../support/settlement.js';

describe('settlement under downstream faults', () => {
  // short client timeout and backoff so that held "timeouts" and retries play out quickly
  const world = new TestWorld();
  let admin: SimAdmin;

  before(async () => {
    await world.setUp({
      TF_HTTP_TIMEOUT_MS: '300',
      TF_RETRY_BASE_MS: '20',
      TF_RETRY_MAX_MS: '300',
      TF_RETRY_MAX_ATTEMPTS: '30',
    });
    admin = await world.startSim();
    world.spawn(['start']);
  });
  after(() => world.tearDown());

  it('with 20% retryable faults on every step, every order still settles, each effect once', async () => {
    // 10% 5xx, 5% 429, 5% "timeouts" whose effect IS applied: the retry must be absorbed by the key
    await admin.setFaults({
      '*': { errorRate: 0.1, rateLimitRate: 0.05, timeoutRate: 0.05, timeoutHoldMs: 600 },
    });
    const rows = makeCounterRows(400, { flow: 'mixed', shards: 16, runId: 'flt' });
    await writeCounterRows(world.counterDb, rows, 400);
    const counts = await waitAllFinished(world.engineDb, rows.length, 120_000, 'flt-');
    assert.deepEqual(counts, { RUNNING: 0, DONE: rows.length, MANUAL: 0 });

    const [tries] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT error_code, COUNT(*) AS n FROM settlement_step WHERE status='RETRY' GROUP BY error_code",
    );
    const byCode = Object.fromEntries(tries.map((r) => [r.error_code, Number(r.n)]));
    for (const code of ['INTERNAL', 'UNAVAILABLE', 'RATE_LIMITED', 'TIMEOUT']) {
      assert.ok((byCode[code] ?? 0) > 0, `no retry for ${code}: ${JSON.stringify(byCode)}`);
    }
    await assertStepsInOrder(world.engineDb);
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
  });

  it('parks an order MANUAL on a non-retryable fault; `tradeflow retry` finishes it once cleared', async () => {
    await admin.setFaults({ 'trade/market': { rejectRate: 1, rejectCode: 'INSUFFICIENT_BALANCE' } });
    const rows = makeCounterRows(3, { flow: 'open', shards: 16, runId: 'man' });
    await writeCounterRows(world.counterDb, rows);
    await waitFor(
      '3 MANUAL orders',
      async () => (await statusCounts(world.engineDb, 'man-')).MANUAL === 3,
      20_000,
    );

    const listed = await world.run(['orders', '--status', 'manual', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const parked = JSON.parse(listed.stdout) as { orderId: string; step: number; errorCode: string }[];
    assert.deepEqual(
      parked.map((p) => [p.orderId, p.step, p.errorCode]).sort(),
      rows.map((r) => [r.orderId, 3, 'INSUFFICIENT_BALANCE']).sort(),
    );

    // still faulty: a retry fails again and parks again, nothing applied twice
    const first = rows[0]?.orderId as string;
    assert.equal((await world.run(['retry', first])).code, 0);
    await waitFor('re-parked', async () => {
      const [r] = await world.engineDb.query<RowDataPacket[]>(
        'SELECT status, attempt FROM settlement_order WHERE order_id=?',
        [first],
      );
      return r[0]?.status === 'MANUAL' && r[0]?.attempt === 2;
    });

    await admin.setFaults({});
    for (const r of rows) {
      const out = await world.run(['retry', r.orderId]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(JSON.parse(out.stdout).retried, true);
    }
    await waitAllFinished(world.engineDb, 3, 20_000, 'man-');
    assert.deepEqual(await statusCounts(world.engineDb, 'man-'), { RUNNING: 0, DONE: 3, MANUAL: 0 });
    const again = await world.run(['retry', first]);
    assert.equal(again.code, 1, 'a retry of a DONE order must be refused');
    assert.match(again.stdout, /not MANUAL/);
    await assertStepsInOrder(world.engineDb);
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
  });
});
