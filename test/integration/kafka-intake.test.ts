import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createLogger } from '../../src/infra/log.js';
import { createRedis, fieldMap, type RedisClient } from '../../src/infra/redis.js';
import { decodeCanal } from '../../src/settlement/intake/decode/canal.js';
import { Intake } from '../../src/settlement/intake/intake.js';
import { intakeDeadLetterKey, KafkaIntake } from '../../src/settlement/intake/kafka-intake.js';
import { canal, malformedCanal, row } from '../support/canal-samples.js';
import { TestWorld } from '../support/harness.js';
import { ConsumerDouble } from '../support/kafka-double.js';
import { assertLedgerClean, waitAllFinished } from '../support/settlement.js';

describe('Kafka intake behind a consumer double, on the real MySQL and Redis', () => {
  const world = new TestWorld();
  let redis: RedisClient;
  let intake: KafkaIntake;

  const message = (orderId: string) =>
    Buffer.from(
      canal(
        'INSERT',
        [
          row('1', {
            order_id: orderId,
            shard: '4',
            user_id: 'u9',
            asset: 'ETH',
            qty: '1.5',
            usdt: '120',
            created_ms: String(Date.now()),
          }),
        ],
        { database: world.config.counterDb },
      ),
    );
  const rowsOf = async (prefix: string) => {
    const [r] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT order_id FROM settlement_order WHERE order_id LIKE ? ORDER BY order_id',
      [`${prefix}%`],
    );
    return r.map((x) => x.order_id as string);
  };

  before(async () => {
    await world.setUp();
    await world.startSim();
    world.spawn(['start']);
    redis = createRedis(world.config.redisUrl);
    const target = { database: world.config.counterDb, table: 'sync_order', shards: 16, maxBytes: 1 << 20 };
    intake = new KafkaIntake(
      new Intake(world.engineDb, redis, world.config.redisPrefix),
      (raw) => (raw === null ? { kind: 'dead', reason: 'null message' } : decodeCanal(raw, target)),
      redis,
      { prefix: world.config.redisPrefix, maxLag: 1_000_000, pauseMs: 10, maxBytes: 1 << 20 },
      createLogger('silent'),
    );
  });
  after(async () => {
    redis.disconnect();
    await world.tearDown();
  });

  it('a duplicate message and a batch replayed after a crash before commit: one order, one settlement each', async () => {
    const log = ['k-0', 'k-1', 'k-2', 'k-3', 'k-4', 'k-2'].map(message);
    const consumer = new ConsumerDouble('counter.sync_order', 0, log);
    consumer.onCommit = async (offsets) => {
      // never commit an offset before its rows are in MySQL
      const upTo = Number(offsets[0]?.offset);
      const expected = [...new Set(['k-0', 'k-1', 'k-2', 'k-3', 'k-4'].slice(0, Math.min(upTo, 5)))];
      assert.deepEqual(await rowsOf('k-'), expected);
    };
    consumer.crashOnNextCommit = true;
    await assert.rejects(() => consumer.deliver((p, c) => intake.handleBatch(p, c), 4), /simulated crash/);
    assert.deepEqual(consumer.commits, []);
    await consumer.deliver((p, c) => intake.handleBatch(p, c));
    assert.deepEqual(consumer.commits, [[{ topic: 'counter.sync_order', partition: 0, offset: '6' }]]);
    assert.deepEqual(consumer.resolved.at(-1), '5');
    assert.deepEqual(await rowsOf('k-'), ['k-0', 'k-1', 'k-2', 'k-3', 'k-4']);

    await waitAllFinished(world.engineDb, 5, 30_000, 'k-');
    const check = await assertLedgerClean(world.config.counterUrl, world.engineDb);
    assert.equal(check.effects, 20);
  });

  it('malformed messages go to the dead-letter stream with their reason; the good ones are taken in', async () => {
    const log = [
      message('m-0'),
      Buffer.from('not json'),
      null,
      Buffer.from('{"type":"UPSERT","isDdl":false,"database":"x","table":"y","data":[]}'),
      Buffer.alloc(2 << 20, 0x20),
      message('m-1'),
    ];
    const consumer = new ConsumerDouble('counter.sync_order', 1, log);
    await consumer.deliver((p, c) => intake.handleBatch(p, c));
    assert.deepEqual(consumer.commits, [[{ topic: 'counter.sync_order', partition: 1, offset: '6' }]]);
    assert.deepEqual(await rowsOf('m-'), ['m-0', 'm-1']);
    const dead = (await redis.xrange(intakeDeadLetterKey(world.config.redisPrefix), '-', '+')).map(
      ([, f]) => {
        const o = fieldMap(f);
        return [o.source, o.reason?.replace(/:.*/, '')];
      },
    );
    assert.deepEqual(dead, [
      ['kafka:counter.sync_order/1/1', 'not JSON'],
      ['kafka:counter.sync_order/1/2', 'null message'],
      ['kafka:counter.sync_order/1/3', 'unknown type "UPSERT"'],
      ['kafka:counter.sync_order/1/4', 'payload of 2097152 bytes is over the 1048576-byte limit'],
    ]);
  });

  it('a dead letter keeps the whole message, byte for byte, up to the size limit', async () => {
    const key = intakeDeadLetterKey(world.config.redisPrefix);
    // over 4 KiB, with bytes that are not UTF-8: the redrive must get back exactly what Kafka held
    const big = Buffer.concat([
      Buffer.from('{"type":"UPSERT","pad":"'),
      Buffer.alloc(20_000, 0xff),
      Buffer.from('"}'),
    ]);
    const tooBig = Buffer.alloc((1 << 20) + 10, 0x20);
    const before = await redis.xlen(key);
    const consumer = new ConsumerDouble('counter.sync_order', 5, [big, tooBig]);
    await consumer.deliver((p, c) => intake.handleBatch(p, c));
    const rows = (await redis.xrangeBuffer(key, '-', '+')).slice(before);
    const largest = rows.map(([, flat]) => flat.reduce((a, b) => (b.length > a.length ? b : a)));
    assert.equal(largest.length, 2);
    assert.ok(largest[0]?.equals(big), `kept ${largest[0]?.length} of ${big.length} bytes`);
    assert.ok(largest[1]?.equals(tooBig.subarray(0, 1 << 20)), `kept ${largest[1]?.length} bytes`);
  });

  it('every malformed message of the decoder tests ends in the dead-letter stream with its reason', async () => {
    const before = await redis.xlen(intakeDeadLetterKey(world.config.redisPrefix));
    const consumer = new ConsumerDouble(
      'counter.sync_order',
      3,
      malformedCanal.map(([, raw]) => Buffer.from(raw)),
    );
    await consumer.deliver((p, c) => intake.handleBatch(p, c));
    assert.deepEqual(consumer.commits, [
      [{ topic: 'counter.sync_order', partition: 3, offset: String(malformedCanal.length) }],
    ]);
    const entries = await redis.xrange(intakeDeadLetterKey(world.config.redisPrefix), '-', '+');
    assert.equal(entries.length - before, malformedCanal.length);
    for (const [i, [name, , reason]] of malformedCanal.entries()) {
      const fields = entries[before + i]?.[1] ?? [];
      assert.equal(fields[fields.indexOf('source') + 1], `kafka:counter.sync_order/3/${i}`, name);
      assert.match(fields[fields.indexOf('reason') + 1] ?? '', reason, name);
    }
  });

  it('pauses the partition while the first step is behind', async () => {
    const slow = new KafkaIntake(
      new Intake(world.engineDb, redis, world.config.redisPrefix),
      () => ({ kind: 'decoded', orders: [], ignored: ['test'], rejected: [] }),
      redis,
      { prefix: world.config.redisPrefix, maxLag: -1, pauseMs: 10, maxBytes: 1 << 20 },
      createLogger('silent'),
    );
    const consumer = new ConsumerDouble('counter.sync_order', 2, [Buffer.from('{}')]);
    await consumer.deliver((p, c) => slow.handleBatch(p, c));
    assert.equal(consumer.pauses, 1);
    assert.equal(consumer.commits.length, 1);
  });
});
