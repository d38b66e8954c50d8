import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { money } from '../../src/domain/money.js';
import { createPool, type Pool } from '../../src/infra/mysql/client.js';
import { migrateDatabase } from '../../src/infra/mysql/migrate.js';
import { type CounterOrderRow, makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
import type { IntakeOrder } from '../../src/settlement/domain/order.js';
import { decodeCanal } from '../../src/settlement/intake/decode/canal.js';
import { CanalCdc } from '../infra/cdc.js';
import { masterStatus } from '../infra/cdc-chain.js';
import { type KafkaNode, startKafkaNode } from '../infra/kafka/kafka-node.js';
import { BinlogMariaDb } from '../infra/mariadb/binlog-mariadb.js';
import { waitFor } from '../support/harness.js';

const PARTITIONS = 16;
const SHARDS = 16;
// the database compose/mysql-init.sql creates and Canal's filter and partition hash name
const COUNTER_DB = 'tradeflow_counter';
const TARGET = { database: COUNTER_DB, table: 'sync_order', shards: SHARDS, maxBytes: 1 << 20 };

describe('binlog capture: MariaDB 10.11 (ROW binlog) → Canal 1.1.4 → Kafka, decoded by decodeCanal', () => {
  const topic = `tf-cdc-${randomBytes(4).toString('hex')}`;
  let node: KafkaNode | undefined;
  let kafka: Kafka;
  const db = new BinlogMariaDb();
  let cdc: CanalCdc | undefined;
  let pool: Pool | undefined;
  let consumer: Consumer | undefined;
  /** every order delivered, with the partition it came on (duplicates kept) */
  const seen: { order: IntakeOrder; partition: number }[] = [];
  const problems: string[] = [];

  const arrived = () => new Set(seen.map((s) => s.order.orderId));
  const waitArrived = async (rows: CounterOrderRow[], what: string) => {
    try {
      await waitFor(
        what,
        async () => {
          if (problems.length > 0)
            throw new Error(`undecodable messages: ${problems.slice(0, 3).join('; ')}`);
          const got = arrived();
          return rows.every((r) => got.has(r.orderId));
        },
        60_000,
        200,
      );
    } catch (err) {
      const got = arrived();
      const missing = rows.filter((r) => !got.has(r.orderId)).map((r) => r.orderId);
      throw new Error(
        `${(err as Error).message}; ${missing.length} missing (${missing.slice(0, 5).join(', ')}…); Canal's log: ${cdc?.log.slice(-4000)}`,
      );
    }
  };

  before(async () => {
    node = await startKafkaNode({ partitions: PARTITIONS });
    kafka = new Kafka({ clientId: 'tf-cdc-test', brokers: node.brokers, logLevel: logLevel.NOTHING });
    await db.start();
    await migrateDatabase(db.url, COUNTER_DB, 'counter');
    pool = createPool(db.url, COUNTER_DB, { connections: 2 });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
    consumer = kafka.consumer({ groupId: `${topic}-reader` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const d = decodeCanal(message.value ?? '', TARGET);
        if (d.kind === 'dead') problems.push(d.reason);
        else {
          for (const r of d.rejected) problems.push(`${r.orderId}: ${r.reason}`);
          for (const order of d.orders) seen.push({ order, partition });
        }
      },
    });
    // where Canal starts until it has recorded a position of its own (see CanalOptions.startAt)
    cdc = new CanalCdc({
      master: `127.0.0.1:${db.port}`,
      brokers: node.brokers.join(','),
      topic,
      startAt: await masterStatus(db.url),
    });
    await cdc.start();
    console.log(`MariaDB ready in ${db.startupMs} ms, Canal in ${cdc.startupMs} ms`);
  });

  after(async () => {
    await consumer?.disconnect().catch(() => {});
    await cdc?.dispose();
    await pool?.end().catch(() => {});
    await db.stop();
    await node?.stop();
  });

  const first = makeCounterRows(400, { flow: 'mixed', shards: SHARDS, runId: `${topic}a` });
  const second = makeCounterRows(600, { flow: 'mixed', shards: SHARDS, runId: `${topic}b` });
  const third = makeCounterRows(600, { flow: 'mixed', shards: SHARDS, runId: `${topic}c` });

  it('delivers every inserted row as an order, each shard on one partition, values as written', async () => {
    assert.ok(pool);
    await writeCounterRows(pool, first);
    await waitArrived(first, `the ${first.length} orders of the first batch`);
    const byId = new Map(seen.map((s) => [s.order.orderId, s.order]));
    for (const r of first) {
      const o = byId.get(r.orderId);
      assert.ok(o);
      assert.equal(o.shard, r.shard);
      assert.equal(o.userId, r.userId);
      assert.equal(o.asset, r.asset);
      assert.equal(o.flow, r.flow?.toLowerCase());
      // decimal(36,18) arrives zero-padded: the same number, compared as decimals
      assert.ok(money(o.qty).eq(r.qty as string), `qty ${o.qty} vs ${r.qty}`);
      assert.ok(money(o.usdt).eq(r.usdt ?? '0'), `usdt ${o.usdt} vs ${r.usdt}`);
    }
    assertOnePartitionPerShard();
  });

  it('loses nothing when Canal is killed with -9 mid-run and restarted from its recorded position', async () => {
    assert.ok(cdc);
    const running = cdc;
    // the first batch's acknowledged position is flushed within a second
    await waitFor(
      'Canal to record a position',
      async () => running.positionFile().includes('"cursor"'),
      10_000,
    );
    await killMidRun(running, second);
    assertOnePartitionPerShard();
  });

  it('loses nothing when a new Canal is killed before it recorded any position (it replays from startAt)', async () => {
    assert.ok(pool && cdc && node);
    await cdc.dispose();
    // a new deployment: its own (empty) data directory, the start position pinned as an operator would
    const fresh = new CanalCdc({
      master: `127.0.0.1:${db.port}`,
      brokers: node.brokers.join(','),
      topic,
      startAt: await masterStatus(db.url),
    });
    cdc = fresh;
    await fresh.start();
    await killMidRun(fresh, third);
    assertOnePartitionPerShard();
  });

  /** Writes rows at 400/s, kills Canal with -9 once the first arrives, restarts it, waits for all. */
  async function killMidRun(running: CanalCdc, rows: CounterOrderRow[]): Promise<void> {
    assert.ok(pool);
    const writing = writeCounterRows(pool, rows, 400);
    await waitFor(
      'the batch to start arriving',
      async () => rows.slice(0, 50).some((r) => arrived().has(r.orderId)),
      60_000,
      50,
    );
    await running.kill();
    await writing;
    assert.ok(
      !rows.every((r) => arrived().has(r.orderId)),
      'the kill came after every row had arrived: it tested nothing',
    );
    const recorded = running.positionFile().includes('"cursor"');
    const before = seen.length;
    await running.start();
    console.log(
      `Canal restarted in ${running.startupMs} ms (${recorded ? 'from its recorded position' : 'from startAt'})`,
    );
    await waitArrived(rows, `the ${rows.length} orders after the restart`);
    const twice = seen.length - arrived().size;
    console.log(
      `${seen.length - before} deliveries after the restart; ${twice} orders so far delivered more than once`,
    );
  }

  function assertOnePartitionPerShard(): void {
    const partitionsOf = new Map<number, Set<number>>();
    for (const s of seen) {
      const set = partitionsOf.get(s.order.shard) ?? new Set();
      set.add(s.partition);
      partitionsOf.set(s.order.shard, set);
    }
    for (const [shard, parts] of partitionsOf)
      assert.equal(parts.size, 1, `shard ${shard} came on partitions ${[...parts].join(', ')}`);
  }
});
