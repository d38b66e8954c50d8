import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createSimAdmin, type SimAdmin } from '../../src/clients/sim-admin.js';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { REDIS_URL, TestWorld, waitFor } from '../support/harness.js';
import {
  assertLedgerClean,
  assertStepsInOrder,
  statusCounts,
  waitAllFinished,
} from '../support/settlement.js';

describe('settlement survives crashes and a Redis that forgets', () => {
  const world = new TestWorld();
  let admin: SimAdmin;

  before(async () => {
    await world.setUp({
      TF_CLAIM_IDLE_MS: '1000',
      TF_CLAIM_INTERVAL_MS: '200',
      TF_RECOVERY_IDLE_MS: '2000',
      TF_RECOVERY_INTERVAL_MS: '500',
      // few slots and slow calls: most orders wait in the streams, where a crash or a flush hits them
      TF_STEP_CONCURRENCY: '8',
    });
    world.spawn(['sim']);
    admin = createSimAdmin(world.config.counterUrl);
    await waitFor('simulator', () => admin.getFaults().then(() => true), 20_000);
    // slow calls keep many orders in flight at the moment of the kill
    await admin.setFaults({ '*': { latencyMs: 20, jitterMs: 20 } });
  });
  after(async () => {
    await admin.close();
    await world.tearDown();
  });

  it('SIGKILL with 500 orders in flight, then a restart: all DONE, nothing twice', async () => {
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

    world.spawn(['start']);
    const counts = await waitAllFinished(world.engineDb, 500, 90_000, 'kil-');
    assert.deepEqual(counts, { RUNNING: 0, DONE: 500, MANUAL: 0 });
    await assertStepsInOrder(world.engineDb);
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
  });

  it('Redis FLUSHALL during a run: every order still reaches DONE, re-driven from MySQL', async () => {
    const rows = makeCounterRows(400, { flow: 'mixed', shards: 16, runId: 'fls' });
    await writeCounterRows(world.counterDb, rows);
    await waitFor('a run under way', async () => (await statusCounts(world.engineDb, 'fls-')).DONE > 20);
    const redis = new Redis(REDIS_URL);
    const queued = await redis.xlen(`${world.config.redisPrefix}:settle:1`);
    await redis.flushall();
    redis.disconnect();
    assert.ok(queued > 100, `only ${queued} entries in the first stream when Redis was flushed`);
    const counts = await waitAllFinished(world.engineDb, 400, 90_000, 'fls-');
    assert.deepEqual(counts, { RUNNING: 0, DONE: 400, MANUAL: 0 });
    await assertStepsInOrder(world.engineDb);
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
  });
});
