import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createRedis, type RedisClient } from '../../src/infra/redis.js';
import { watermarkKey } from '../../src/settlement/intake/watermarks.js';
import { freePort, TestWorld, waitFor } from '../support/harness.js';
import { promtoolProblems } from '../support/promtool.js';
import { assertLedgerClean, waitAllFinished } from '../support/settlement.js';

const IN_2100 = Date.UTC(2100, 0, 1);

describe('reconciler: a counter row dated far in the future', () => {
  const world = new TestWorld();
  let redis: RedisClient;
  let metricsUrl = '';

  /** A counter row with an explicit id (below the poller's cursor, the poller never reads it). */
  const insert = (id: number, orderId: string, shard: number, createdMs: number) =>
    world.counterDb.query(
      "INSERT INTO sync_order (id, order_id, shard, user_id, biz_type, flow, asset, qty, usdt, created_ms) VALUES (?, ?, ?, 'u1', 'OPTION_SWAP', 'OPEN', 'BTC', '0.01', '18', ?)",
      [id, orderId, shard, createdMs],
    );
  const orderRow = async (orderId: string) => {
    const [r] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT status, source FROM settlement_order WHERE order_id=?',
      [orderId],
    );
    return r[0];
  };

  before(async () => {
    // the poller reads by id and waits for no gap, so a row written below its cursor is the reconciler's
    await world.setUp({
      TF_SOURCE: 'poll',
      TF_POLL_GAP_WAIT_MS: '0',
      TF_RECONCILE_INTERVAL_MS: '500',
      TF_RECONCILE_GRACE_MS: '200',
    });
    redis = createRedis(world.config.redisUrl);
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    await world.startSim();
    await world.startEngine({ TF_OPS_PORT: String(port) });
  });
  after(async () => {
    redis.disconnect();
    await world.tearDown();
  });

  it('is rejected with its reason, and later late orders of its shard are still reconciled', async () => {
    await insert(1000, 'sk-future', 3, IN_2100);
    await insert(1001, 'sk-now', 3, Date.now());
    await waitAllFinished(world.engineDb, 1, 20_000, 'sk-now');
    // shard 5's watermark was lifted before this engine's time (an older version took such a row in)
    await redis.hset(watermarkKey(world.config.redisPrefix), '5', String(IN_2100));
    await insert(10, 'sk-late-3', 3, Date.now() - 2000);
    await insert(11, 'sk-late-5', 5, Date.now() - 2000);
    for (const id of ['sk-late-3', 'sk-late-5']) {
      const row = await waitFor(
        `${id} reconciled`,
        async () => ((await orderRow(id))?.status === 'DONE' ? orderRow(id) : undefined),
        20_000,
      );
      assert.equal(row?.source, 'reconciler', id);
    }
    assert.equal(await orderRow('sk-future'), undefined, 'a row dated 2100 was taken in');
    const [rejected] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT source, reason FROM intake_rejection WHERE order_id='sk-future'",
    );
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0]?.source, 'poll');
    assert.match(String(rejected[0]?.reason), /ahead of the engine's clock/);
    const marks = await redis.hgetall(watermarkKey(world.config.redisPrefix));
    assert.ok(Number(marks['3']) <= Date.now(), `shard 3's watermark is ${marks['3']}`);
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
  });

  it('the rejection and the skew seen are in /metrics', async () => {
    const text = await (await fetch(metricsUrl)).text();
    assert.match(text, /^tradeflow_intake_future_rows_total\{source="poll"\} 1$/m);
    assert.match(text, /^tradeflow_intake_clock_skew_seconds\{source="poll"\} [\d.e+]+$/m);
    assert.deepEqual(promtoolProblems(text), []);
  });
});
