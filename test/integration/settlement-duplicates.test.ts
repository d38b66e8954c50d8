import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import { encodeMessage, streamKey } from '../../src/settlement/domain/streams.js';
import { REDIS_URL, TestWorld } from '../support/harness.js';
import { assertLedgerClean, waitAllFinished } from '../support/settlement.js';

describe('a step whose outcome is already recorded hands the order on once', () => {
  const world = new TestWorld();
  let admin: SimAdmin;

  before(async () => {
    await world.setUp();
    admin = await world.startSim();
  });
  after(() => world.tearDown());

  it('two runs of step 1 after a crash between commit and hand-off: steps 2-4 run once', async () => {
    // the state a process leaves when it dies after recording step 1 and before handing off,
    // with the step-1 entry delivered twice (a claim of it, and a redrive)
    const n = 20;
    const now = Date.now();
    const orders = Array.from({ length: n }, (_, i) => ({ orderId: `dup-${i}`, usdt: `${100 + i}` }));
    await world.engineDb.query(
      'INSERT INTO settlement_order (order_id, flow, asset, user_id, qty, usdt, shard, status, step, attempt, carry, source, counter_created_ms, intake_ms, updated_ms) VALUES ?',
      [
        orders.map((o) => [
          o.orderId,
          'open',
          'BTC',
          'u1',
          '0.01',
          o.usdt,
          0,
          'RUNNING',
          2,
          1,
          o.usdt,
          'test',
          now,
          now,
          now,
        ]),
      ],
    );
    const redis = new Redis(REDIS_URL);
    for (const o of orders) {
      const fields = encodeMessage({
        orderId: o.orderId,
        userId: 'u1',
        flow: 'open',
        asset: 'BTC',
        qty: '0.01',
        usdt: o.usdt,
        step: 1,
        attempt: 1,
        firstAttempt: 1,
        carry: null,
        t0: now,
      });
      await redis.xadd(streamKey(world.config.redisPrefix, 1), '*', ...fields);
      await redis.xadd(streamKey(world.config.redisPrefix, 1), '*', ...fields);
    }
    redis.disconnect();

    world.spawn(['start']);
    await waitAllFinished(world.engineDb, n, 30_000, 'dup-');
    const check = await assertLedgerClean(world.config.counterUrl, world.engineDb);
    assert.equal(check.effects, 4 * n);
    const ledger = await admin.getLedger('dup-');
    // step 1 ran twice per order (the second a replay); a doubled hand-off would replay 2-4 as well
    assert.equal(ledger.replays, n);
  });
});
