import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { TestWorld, waitFor } from '../support/harness.js';
import {
  assertLedgerClean,
  assertStepsInOrder,
  statusCounts,
  waitAllFinished,
} from '../support/settlement.js';

describe('settlement survives a kill and a rolling stop', () => {
  const world = new TestWorld();

  before(async () => {
    await world.setUp({
      TF_CLAIM_IDLE_MS: '1000',
      TF_HTTP_TIMEOUT_MS: '500',
      TF_CLAIM_INTERVAL_MS: '200',
      // no recovery scan here: what a dead process left is finished by claims alone
      TF_RECOVERY_IDLE_MS: '86400000',
      // few slots and slow calls: most orders wait in the streams, where a crash hits them
      TF_STEP_CONCURRENCY: '8',
      TF_DRAIN_TIMEOUT_MS: '3000',
    });
    await world.startSim({ '*': { latencyMs: 20, jitterMs: 20 } });
  });
  after(() => world.tearDown());

  it('SIGKILL with 500 orders in flight, then a restart: all DONE, nothing twice, no step overlapping', async () => {
    const engine = world.spawn(['start']);
    const rows = makeCounterRows(500, { flow: 'mixed', shards: 16, runId: 'kil' });
    await writeCounterRows(world.counterDb, rows);
    const inFlight = await waitFor('orders in flight', async () => {
      const c = await statusCounts(world.engineDb, 'kil-');
      return c.RUNNING + c.DONE === 500 && c.DONE > 20 && c.RUNNING > 200 ? c : undefined;
    });
    engine.kill('SIGKILL');
    await engine.exited;
    assert.ok(inFlight.RUNNING > 200, `only ${inFlight.RUNNING} in flight at the kill`);

    const restarted = world.spawn(['start']);
    const counts = await waitAllFinished(world.engineDb, 500, 90_000, 'kil-');
    assert.deepEqual(counts, { RUNNING: 0, DONE: 500, MANUAL: 0 });
    await assertStepsInOrder(world.engineDb);
    await assertLedgerClean(world.config.counterUrl, world.engineDb, { sequential: true });
    restarted.kill('SIGTERM');
    assert.equal(await restarted.exited, 0);
  });

  it('SIGTERM mid-run drains within the deadline and exits 0; a new process finishes the rest', async () => {
    const engine = world.spawn(['start']);
    const rows = makeCounterRows(300, { flow: 'mixed', shards: 16, runId: 'trm' });
    await writeCounterRows(world.counterDb, rows);
    await waitFor('a run under way', async () => (await statusCounts(world.engineDb, 'trm-')).DONE > 10);
    const stoppedAt = Date.now();
    engine.kill('SIGTERM');
    assert.equal(await engine.exited, 0);
    const drainMs = Date.now() - stoppedAt;
    assert.ok(drainMs < 3000 + 2000, `drain took ${drainMs} ms, deadline 3000`);
    const left = await statusCounts(world.engineDb, 'trm-');
    assert.ok(left.RUNNING > 0, 'the stop came too late to leave work for the next process');

    world.spawn(['start']);
    const counts = await waitAllFinished(world.engineDb, 300, 60_000, 'trm-');
    assert.deepEqual(counts, { RUNNING: 0, DONE: 300, MANUAL: 0 });
    await assertStepsInOrder(world.engineDb);
    await assertLedgerClean(world.config.counterUrl, world.engineDb, { sequential: true });
  });
});

describe('settlement survives a kill in the middle of an intake burst', () => {
  const world = new TestWorld();
  const N = 2000;

  before(async () => {
    // small batches: the burst takes many back-to-back polls, and the kill lands among them
    await world.setUp({ TF_POLL_BATCH: '50', TF_RECOVERY_IDLE_MS: '86400000' });
    await world.startSim();
  });
  after(() => world.tearDown());

  it('SIGKILL mid-burst: the saved cursor is behind what is recorded; after a restart all DONE once', async () => {
    const one = async (pool: typeof world.engineDb, sql: string, params: unknown[] = []) => {
      const [r] = await pool.query<RowDataPacket[]>(sql, params);
      return Number(r[0]?.n ?? 0);
    };
    const engine = world.spawn(['start']);
    // written at 1,000 rows/s (100 a poll interval, two batches: polls back to back) while
    // the engine takes them in: written at once, a fast engine took the whole burst in before
    // the probe below saw it, and the kill came after it (a slow one, on a busy machine, is
    // still behind the writer when the probe sees a fifth taken)
    const writer = writeCounterRows(
      world.counterDb,
      makeCounterRows(N, { flow: 'mixed', shards: 16, runId: 'bst' }),
      1000,
    );
    await waitFor(
      'the first counter rows',
      async () => (await one(world.counterDb, 'SELECT COUNT(*) AS n FROM sync_order')) > 0,
    );
    const savedPosition = () =>
      one(world.engineDb, "SELECT position AS n FROM intake_cursor WHERE source='poll'");
    const firstId = await one(world.counterDb, 'SELECT MIN(id) AS n FROM sync_order');
    await waitFor(
      'a cursor saved inside the burst',
      async () => {
        const c = await statusCounts(world.engineDb, 'bst-');
        return c.RUNNING + c.DONE > N / 5 && (await savedPosition()) >= firstId;
      },
      30_000,
      5,
    );
    engine.kill('SIGKILL');
    await engine.exited;
    await writer;

    const position = await savedPosition();
    const upTo = await one(world.counterDb, 'SELECT COUNT(*) AS n FROM sync_order WHERE id <= ?', [position]);
    const taken = await one(
      world.engineDb,
      "SELECT COUNT(*) AS n FROM settlement_order WHERE order_id LIKE 'bst-%'",
    );
    assert.ok(upTo < N, `the kill came after the burst (cursor at ${position}, ${upTo} rows up to it)`);
    // no skipped counter row: every row up to the saved cursor is a settlement order
    const [missing] = await world.engineDb.query<RowDataPacket[]>(
      `SELECT c.order_id FROM ${world.config.counterDb}.sync_order c
        LEFT JOIN settlement_order s ON s.order_id = c.order_id
        WHERE c.id <= ? AND s.order_id IS NULL`,
      [position],
    );
    assert.deepEqual(
      missing.map((r) => r.order_id),
      [],
      `cursor at row ${upTo}, ${taken} orders recorded: the cursor passed rows never recorded`,
    );

    // no recovery scan: an order recorded but never enqueued finishes only if the cursor
    // left its row to be read again
    const restarted = world.spawn(['start']);
    const counts = await waitAllFinished(world.engineDb, N, 120_000, 'bst-');
    assert.deepEqual(counts, { RUNNING: 0, DONE: N, MANUAL: 0 });
    await assertStepsInOrder(world.engineDb);
    await assertLedgerClean(world.config.counterUrl, world.engineDb, { sequential: true });
    restarted.kill('SIGTERM');
    assert.equal(await restarted.exited, 0);
  });
});
