import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { createLogger } from '../../src/infra/log.js';
import { createRedis, type RedisClient } from '../../src/infra/redis.js';
import { SWAP_BIZ_TYPE } from '../../src/settlement/domain/order.js';
import { Intake } from '../../src/settlement/intake/intake.js';
import { IntakePoller } from '../../src/settlement/intake/intake-poller.js';
import { MYSQL_URL, TestWorld, waitFor } from '../support/harness.js';

const INSERT =
  'INSERT INTO sync_order (order_id, shard, user_id, biz_type, flow, asset, qty, usdt, created_ms) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?)';
const row = (orderId: string) => [orderId, 'u1', SWAP_BIZ_TYPE, 'OPEN', 'BTC', '0.01', '20', Date.now()];

describe('intake poller on the real counter table', () => {
  const world = new TestWorld();
  let redis: RedisClient;
  let poller: IntakePoller;

  before(async () => {
    await world.setUp();
    redis = createRedis(world.config.redisUrl);
    poller = new IntakePoller(
      world.counterDb,
      world.engineDb,
      new Intake(world.engineDb, redis, world.config.redisPrefix),
      { intervalMs: 10, batch: 100, shards: 16, gapWaitMs: 10_000 },
      createLogger('silent'),
    );
    poller.start();
  });
  after(async () => {
    await poller.stop();
    redis.disconnect();
    await world.tearDown();
  });

  const taken = async (orderId: string) => {
    const [r] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT 1 FROM settlement_order WHERE order_id=?',
      [orderId],
    );
    return r.length === 1;
  };

  it('takes in a row that commits after a row with a higher id was read', async () => {
    const slow = await mysql.createConnection(`${MYSQL_URL}/${world.config.counterDb}`);
    await slow.beginTransaction();
    await slow.query(INSERT, row('late-1')); // takes the lower id, commits last
    await world.counterDb.query(INSERT, row('early-2'));
    await waitFor('the higher id taken in', () => taken('early-2'), 10_000, 20);
    assert.equal(await taken('late-1'), false);
    await slow.commit();
    await slow.end();
    // the row is in MySQL a moment before the poller counts it: wait for both
    await waitFor(
      'the late row taken in and counted',
      async () => (await taken('late-1')) && poller.counts.late > 0,
      10_000,
      20,
    );
    assert.equal(poller.counts.late, 1);

    const [ids] = await world.counterDb.query<RowDataPacket[]>(
      'SELECT order_id, id FROM sync_order ORDER BY id',
    );
    assert.deepEqual(
      ids.map((r) => r.order_id),
      ['late-1', 'early-2'],
      'the late row must hold the lower id, or this test proves nothing',
    );
    const entries = await redis.xlen(`${world.config.redisPrefix}:settle:1`);
    assert.equal(entries, 2);
  });

  it('keeps order ids that differ only in case apart', async () => {
    await world.counterDb.query(INSERT, row('Case-7'));
    await world.counterDb.query(INSERT, row('case-7'));
    await waitFor(
      'both taken in',
      async () => (await taken('Case-7')) && (await taken('case-7')),
      10_000,
      20,
    );
    const [r] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT order_id FROM settlement_order WHERE order_id IN ('Case-7', 'case-7') ORDER BY order_id",
    );
    assert.deepEqual(
      r.map((x) => x.order_id),
      ['Case-7', 'case-7'],
    );
  });
});
