import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mysql, { type RowDataPacket } from 'mysql2/promise';
import { createLogger } from '../../src/infra/log.js';
import { createRedis, type RedisClient } from '../../src/infra/redis.js';
import { Fence } from '../../src/roles/fence.js';
import { DutyRunner } from '../../src/settlement/coordinator/duties.js';
import { parkedSync } from '../../src/settlement/coordinator/parked-sync.js';
import { insertOrders } from '../../src/settlement/intake/intake.js';
import { ParkedQueue } from '../../src/settlement/ops/parked-queue.js';
import { MYSQL_URL, TestWorld } from '../support/harness.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const REDIS_DELAY_MS = 150;
const PARKED = 40;

describe('the parked-order sync holds the fence row for MySQL only', () => {
  const world = new TestWorld();
  const log = createLogger('silent');
  const proxy = new TcpProxy('127.0.0.1', 6379);
  let redis: RedisClient;
  let parked: ParkedQueue | null = null;
  let prober: mysql.Connection | null = null;

  before(async () => {
    await world.setUp();
    await proxy.open();
    redis = createRedis(world.config.redisUrl);
    const orders = Array.from({ length: PARKED }, (_, i) => ({
      orderId: `prk-${i}`,
      shard: i % 16,
      userId: 'u1',
      flow: 'open' as const,
      asset: 'BTC' as const,
      qty: '0.01',
      usdt: '20',
      counterCreatedMs: Date.now(),
    }));
    await insertOrders(world.engineDb, orders, 'poll');
    await world.engineDb.query(
      "UPDATE settlement_order SET status='MANUAL', step=2, error_code='REJECTED', error_message='test' WHERE order_id LIKE 'prk-%'",
    );
  });
  after(async () => {
    await prober?.end().catch(() => undefined);
    await parked?.queue.obliterate({ force: true }).catch(() => undefined);
    await parked?.close();
    await proxy.cut();
    redis?.disconnect();
    await world.tearDown();
  });

  it('a slow Redis lengthens the run, not the lock wait of another transaction on the fence row', async () => {
    // the queue's Redis goes through the proxy; each of its round trips is slowed below
    parked = new ParkedQueue(
      `redis://127.0.0.1:${proxy.port}`,
      world.config.redisPrefix,
      world.engineDb,
      redis,
      log,
    );
    await parked.queue.waitUntilReady();
    const fence = new Fence(world.engineDb, 'settlement');
    const token = await fence.raise(1, 'hold-test');
    const duty = parkedSync(parked, 60_000);
    const runner = new DutyRunner(world.engineDb, fence, 'hold-test', [duty], () => undefined, log);

    // another session takes the fence row's lock over and over while the duty runs: how long
    // each waits is how long the duty held the row
    prober = await mysql.createConnection(`${MYSQL_URL}/${world.config.engineDb}`);
    const probe = prober;
    const waits: number[] = [];
    let running = true;
    const probing = (async () => {
      while (running) {
        const t0 = performance.now();
        await probe.beginTransaction();
        await probe.query("SELECT token FROM coordinator_fence WHERE name='settlement' FOR UPDATE");
        await probe.commit();
        waits.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 1));
      }
    })();

    proxy.delay(REDIS_DELAY_MS);
    const t0 = performance.now();
    try {
      await runner.runOnce(duty, token);
    } finally {
      running = false;
      await probing;
      proxy.delay(0);
    }
    const runMs = performance.now() - t0;

    const [runs] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT outcome, items FROM coordinator_run WHERE duty='parked'",
    );
    assert.deepEqual(
      runs.map((r) => [r.outcome, Number(r.items)]),
      [['OK', PARKED]],
    );
    assert.equal(await parked.queue.count(), PARKED, 'a job for every parked order');
    assert.ok(runMs >= 2 * REDIS_DELAY_MS, `the run took ${runMs.toFixed(0)} ms: Redis was not slowed`);
    const longest = Math.max(...waits);
    assert.ok(
      longest < REDIS_DELAY_MS,
      `a transaction waited ${longest.toFixed(0)} ms on the fence row (Redis round trip ${REDIS_DELAY_MS} ms)`,
    );
    assert.ok(waits.length > 5, `only ${waits.length} probes during the run`);
  });
});
