import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createLogger } from '../../src/infra/log.js';
import { createRedis, type RedisClient } from '../../src/infra/redis.js';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { decodeCanal } from '../../src/settlement/intake/decode/canal.js';
import { Intake } from '../../src/settlement/intake/intake.js';
import { KafkaIntake } from '../../src/settlement/intake/kafka-intake.js';
import { canal } from '../support/canal-samples.js';
import { TestWorld } from '../support/harness.js';
import { ConsumerDouble } from '../support/kafka-double.js';
import { assertLedgerClean, waitAllFinished } from '../support/settlement.js';

describe('reconciler: the counter keeps writing while Kafka is silent', () => {
  const INTERVAL = 1000;
  const world = new TestWorld();
  let redis: RedisClient;

  before(async () => {
    // no poller, no Kafka: only the reconciler can take orders in
    await world.setUp({
      TF_SOURCE: 'none',
      TF_RECONCILE_INTERVAL_MS: String(INTERVAL),
      TF_RECONCILE_GRACE_MS: '200',
    });
    await world.startSim();
    await world.startEngine();
    redis = createRedis(world.config.redisUrl);
  });
  after(async () => {
    redis.disconnect();
    await world.tearDown();
  });

  it('takes every order in within two intervals, each recorded as late, and all settle', async () => {
    const rows = makeCounterRows(60, { flow: 'mixed', shards: 16, runId: 'rec' });
    await writeCounterRows(world.counterDb, rows, 30);
    await waitAllFinished(world.engineDb, 60, 30_000, 'rec-');
    const [r] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT source, MAX(intake_ms - counter_created_ms) AS worst, COUNT(*) AS n FROM settlement_order WHERE order_id LIKE 'rec-%' GROUP BY source",
    );
    assert.deepEqual(
      r.map((x) => [x.source, Number(x.n)]),
      [['reconciler', 60]],
    );
    assert.ok(
      Number(r[0]?.worst) <= 2 * INTERVAL,
      `an order was taken in ${r[0]?.worst} ms after it was written`,
    );
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
  });

  it('the same orders delivered by Kafka afterwards are not taken twice', async () => {
    const [rows] = await world.counterDb.query<RowDataPacket[]>(
      "SELECT * FROM sync_order WHERE order_id LIKE 'rec-%'",
    );
    const messages = rows.map((r) =>
      Buffer.from(
        canal(
          'INSERT',
          [Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)]))],
          { database: world.config.counterDb },
        ),
      ),
    );
    const target = { database: world.config.counterDb, table: 'sync_order', shards: 16, maxBytes: 1 << 20 };
    const kafka = new KafkaIntake(
      new Intake(world.engineDb, redis, world.config.redisPrefix),
      (raw) => (raw === null ? { kind: 'dead', reason: 'null' } : decodeCanal(raw, target)),
      redis,
      { prefix: world.config.redisPrefix, maxLag: 1_000_000, pauseMs: 10, maxBytes: 1 << 20 },
      createLogger('silent'),
    );
    const consumer = new ConsumerDouble('counter.sync_order', 0, messages);
    await consumer.deliver((p, c) => kafka.handleBatch(p, c));
    assert.equal(consumer.commits.length, 1);
    const [n] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n, SUM(source='reconciler') AS rec FROM settlement_order WHERE order_id LIKE 'rec-%'",
    );
    assert.deepEqual([Number(n[0]?.n), Number(n[0]?.rec)], [60, 60]);
    assert.equal(
      await redis.xlen(`${world.config.redisPrefix}:settle:1`),
      0,
      'a DONE order was queued again',
    );
    const check = await assertLedgerClean(world.config.counterUrl, world.engineDb);
    assert.equal(check.effects, 240);
  });
});
