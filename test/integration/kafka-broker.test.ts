import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Admin, Kafka, logLevel, type Producer } from 'kafkajs';
import type { RowDataPacket } from 'mysql2/promise';
import { stableGroupMembers } from '../../src/infra/kafka.js';
import { createRedis, fieldMap, type RedisClient } from '../../src/infra/redis.js';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import { intakeDeadLetterKey } from '../../src/settlement/intake/kafka-intake.js';
import { type KafkaNode, startKafkaNode } from '../infra/kafka/kafka-node.js';
import { publishCounterRows } from '../support/canal-publisher.js';
import { type Child, freePort, TestWorld, waitFor } from '../support/harness.js';
import { assertLedgerClean, waitAllFinished } from '../support/settlement.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/**
 * The Kafka intake against a real Kafka node (test/infra/kafka), with a proxy in front of it
 * that the broker advertises, so a test can slow what the engine sends it. The test plays
 * Canal (support/canal-publisher.ts): it decides when a counter row reaches Kafka.
 */
describe('Kafka intake against a real Kafka broker', () => {
  const world = new TestWorld();
  let proxy: TcpProxy;
  let node: KafkaNode | undefined;
  let admin: Admin;
  let producer: Producer;
  let redis: RedisClient;
  const engines: Child[] = [];
  // only Kafka brings orders unless a test says otherwise: a pass at start, then none for an hour
  const kafkaOnly = { TF_SOURCE: 'kafka', TF_RECONCILE_INTERVAL_MS: '3600000' };

  const brokers = () => `127.0.0.1:${proxy.port}`;
  const engine = async (topic: string, env: Record<string, string> = {}) => {
    const e = await world.startEngine({
      ...kafkaOnly,
      TF_KAFKA_BROKERS: brokers(),
      TF_KAFKA_TOPIC: topic,
      TF_KAFKA_GROUP: `g-${topic}`,
      ...env,
    });
    engines.push(e);
    return e;
  };
  const topic = async (name: string, partitions: number) => {
    await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions }], waitForLeaders: true });
    return name;
  };
  /** writes rows into the counter and, unless told not to, publishes them as Canal would */
  const counterRows = async (t: string, runId: string, n: number, partitions: number, publish = true) => {
    const rows = makeCounterRows(n, { flow: 'mixed', shards: 16, runId, otherBizRate: 0 });
    await writeCounterRows(world.counterDb, rows);
    if (publish) {
      const orderIds = rows.map((r) => r.orderId);
      await publishCounterRows(producer, {
        topic: t,
        counter: world.counterDb,
        database: world.config.counterDb,
        orderIds,
        partitions,
      });
    }
    return rows;
  };
  /** the group's committed offsets summed over the topic's partitions (none committed: 0) */
  const committed = async (t: string) => {
    const [offsets] = await admin.fetchOffsets({ groupId: `g-${t}`, topics: [t] });
    return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  };
  const members = (t: string) => stableGroupMembers(admin, `g-${t}`);
  const sources = async (prefix: string) => {
    const [r] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT source, COUNT(*) AS n FROM settlement_order WHERE order_id LIKE ? GROUP BY source ORDER BY source',
      [`${prefix}%`],
    );
    return Object.fromEntries(r.map((x) => [x.source as string, Number(x.n)]));
  };
  const stopEngines = async () => {
    for (const e of engines.splice(0)) {
      e.kill('SIGTERM');
      await e.exited;
    }
  };

  before(async () => {
    const port = await freePort();
    proxy = new TcpProxy('127.0.0.1', port);
    await proxy.open();
    node = await startKafkaNode({ port, advertisedPort: proxy.port });
    await world.setUp({ TF_KAFKA_RECONNECT_MAX_MS: '1000' });
    await world.startSim();
    const kafka = new Kafka({
      clientId: 'kafka-broker-test',
      brokers: [brokers()],
      logLevel: logLevel.NOTHING,
    });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    redis = createRedis(world.config.redisUrl);
  });
  after(async () => {
    await Promise.allSettled([producer?.disconnect(), admin?.disconnect()]);
    redis?.disconnect();
    await world.tearDown();
    await node?.stop();
    await proxy?.cut();
  });

  it('commits after persist: an engine killed between its inserts and its commit; the batch comes again and is absorbed', async () => {
    const t = await topic('t-commit', 1);
    const first = await engine(t);
    await waitFor('the engine in its group', async () => (await members(t)) === 1, 30_000);
    // from now on whatever the engine sends the broker (its offset commit) arrives 3 s late
    proxy.delay(3000);
    await counterRows(t, 'kc', 50, 1);
    await waitFor('the 50 orders in MySQL', async () => (await sources('kc-')).kafka === 50, 30_000, 20);
    first.kill('SIGKILL');
    await first.exited;
    proxy.delay(0);
    assert.equal(await committed(t), 0, 'the commit got through before the kill: nothing was redelivered');
    await engine(t);
    await waitFor('the redelivered batch committed', async () => (await committed(t)) === 50, 60_000);
    await waitAllFinished(world.engineDb, 50, 90_000, 'kc-');
    assert.deepEqual(await sources('kc-'), { kafka: 50 });
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
    await stopEngines();
  });

  it('two engines share a 16-partition topic keyed by shard; one killed mid-run, the other takes its partitions', async () => {
    const t = await topic('t-group', 16);
    const session = { TF_KAFKA_SESSION_TIMEOUT_MS: '6000' };
    const a = await engine(t, session);
    await engine(t, session);
    await waitFor('both engines in the group', async () => (await members(t)) === 2, 60_000);
    for (let i = 0; i < 4; i++) await counterRows(t, `kg${i}`, 40, 16);
    a.kill('SIGKILL');
    for (let i = 4; i < 8; i++) await counterRows(t, `kg${i}`, 40, 16);
    await waitFor(
      'the group rebalanced to the one engine left',
      async () => (await members(t)) === 1,
      60_000,
    );
    await waitFor('every message committed', async () => (await committed(t)) === 320, 90_000);
    await waitAllFinished(world.engineDb, 320, 120_000, 'kg');
    assert.deepEqual(await sources('kg'), { kafka: 320 });
    const check = await assertLedgerClean(world.config.counterUrl, world.engineDb);
    assert.equal(check.doubleEffects, 0);
    await stopEngines();
  });

  it('pauses a partition while the first step stream is over TF_KAFKA_MAX_LAG, and resumes it', async () => {
    const t = await topic('t-lag', 1);
    const e = await engine(t, { TF_KAFKA_MAX_LAG: '5' });
    await waitFor('the engine in its group', async () => (await members(t)) === 1, 30_000);
    await counterRows(t, 'kl', 60, 1);
    await waitFor('a pause', async () => /step 1 is behind; partition paused/.test(e.stderr), 30_000);
    // the stream stays over 5 entries until trimmed: only a resume brings what comes next
    await counterRows(t, 'km', 20, 1);
    await waitFor('everything committed after the pause', async () => (await committed(t)) === 80, 60_000);
    await waitAllFinished(world.engineDb, 20, 60_000, 'km-');
    assert.deepEqual(await sources('km-'), { kafka: 20 });
    await stopEngines();
  });

  it('dead-letters a poison message with its topic, partition and offset; the partition goes on', async () => {
    const t = await topic('t-poison', 1);
    await engine(t);
    await counterRows(t, 'kp', 5, 1);
    await producer.send({
      topic: t,
      acks: -1,
      messages: [{ partition: 0, value: '{"type":"INSERT", oops' }],
    });
    await counterRows(t, 'kq', 5, 1);
    await waitFor('all 11 messages committed', async () => (await committed(t)) === 11, 60_000);
    await waitAllFinished(world.engineDb, 5, 60_000, 'kp-');
    await waitAllFinished(world.engineDb, 5, 60_000, 'kq-');
    const dead = (await redis.xrange(intakeDeadLetterKey(world.config.redisPrefix), '-', '+')).map(([, f]) =>
      fieldMap(f),
    );
    assert.deepEqual(
      dead.map((d) => [d.source, d.reason?.replace(/:.*/, '')]),
      [[`kafka:${t}/0/5`, 'not JSON']],
    );
    assert.deepEqual(await sources('kq-'), { kafka: 5 });
    await stopEngines();
  });

  it('a broker restarted mid-run: the reconciler fills what the outage delayed, the intake reconnects', async () => {
    const t = await topic('t-restart', 16);
    const env = { TF_RECONCILE_INTERVAL_MS: '500', TF_RECONCILE_GRACE_MS: '200' };
    await engine(t, env);
    await counterRows(t, 'kr', 20, 16);
    await waitAllFinished(world.engineDb, 20, 60_000, 'kr-');
    assert.ok(node);
    await node.kill();
    // the counter goes on writing; Canal cannot publish while the broker is down
    await counterRows(t, 'ks', 20, 16, false);
    await waitAllFinished(world.engineDb, 20, 60_000, 'ks-');
    assert.deepEqual(await sources('ks-'), { reconciler: 20 });
    await node.restart();
    await counterRows(t, 'kt', 20, 16);
    await waitFor(
      'the intake back in its group and committing',
      async () => (await committed(t)) === 40,
      90_000,
    );
    await waitAllFinished(world.engineDb, 20, 60_000, 'kt-');
    await assertLedgerClean(world.config.counterUrl, world.engineDb);
    await stopEngines();
  });
});
