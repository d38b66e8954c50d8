import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { type Child, REDIS_URL, TestWorld, waitFor } from '../support/harness.js';
import {
  assertLedgerClean,
  assertStepsInOrder,
  statusCounts,
  waitAllFinished,
} from '../support/settlement.js';

describe('settlement survives a Redis that forgets everything', () => {
  const world = new TestWorld();
  let engine: Child;

  before(async () => {
    await world.setUp({
      TF_RECOVERY_IDLE_MS: '2000',
      TF_CLAIM_IDLE_MS: '1000',
      TF_HTTP_TIMEOUT_MS: '500',
      TF_RETRY_MAX_MS: '1000',
      TF_RECOVERY_INTERVAL_MS: '500',
      TF_STEP_CONCURRENCY: '8',
    });
    await world.startSim({ '*': { latencyMs: 20, jitterMs: 20 } });
    engine = world.spawn(['start']);
  });
  after(() => world.tearDown());

  it('Redis FLUSHALL during a run: every order still reaches DONE, redriven from MySQL', async () => {
    const rows = makeCounterRows(400, { flow: 'mixed', shards: 16, runId: 'fls' });
    await writeCounterRows(world.counterDb, rows);
    const atFlush = await waitFor('a run under way', async () => {
      const c = await statusCounts(world.engineDb, 'fls-');
      return c.DONE > 20 && c.RUNNING + c.DONE === 400 ? c : undefined;
    });
    const redis = new Redis(REDIS_URL);
    await redis.flushall();
    redis.disconnect();
    // most of them were waiting in streams that no longer exist
    assert.ok(atFlush.RUNNING > 150, `only ${atFlush.RUNNING} orders unfinished at the flush`);

    const counts = await waitAllFinished(world.engineDb, 400, 90_000, 'fls-');
    assert.deepEqual(counts, { RUNNING: 0, DONE: 400, MANUAL: 0 });
    assert.match(engine.stderr, /recovery scan redrove idle orders/);
    await assertStepsInOrder(world.engineDb);
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
  });
});
