import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mysql, { type PoolConnection, type RowDataPacket } from 'mysql2/promise';
import { createLogger } from '../../src/infra/log.js';
import { createRedis, type RedisClient } from '../../src/infra/redis.js';
import { makeCounterRows } from '../../src/load/counter-orders.js';
import { writeCounterRows } from '../../src/load/write-rows.js';
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

describe('intake poller under a burst', () => {
  const world = new TestWorld();
  let redis: RedisClient;
  const BATCH = 100;

  before(async () => {
    await world.setUp();
    redis = createRedis(world.config.redisUrl);
  });
  after(async () => {
    redis.disconnect();
    await world.tearDown();
  });

  /**
   * A cursor save run as the fence runs it (a transaction on its own connection), that checks,
   * before its commit, that every counter row up to the position written is a settlement order
   * and has had its step-1 entry; `hold` delays the first save.
   */
  const checkedSaves = (hold: Promise<void>) => {
    const s = { calls: 0, inFlight: 0, maxInFlight: 0, saved: [] as number[], behind: [] as string[] };
    const guard = async (write: (conn: PoolConnection) => Promise<unknown>) => {
      s.inFlight++;
      s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
      const conn = await world.engineDb.getConnection();
      try {
        if (s.calls++ === 0) await hold;
        await conn.beginTransaction();
        await write(conn);
        const [[c]] = (await conn.query("SELECT position FROM intake_cursor WHERE source='poll'")) as [
          RowDataPacket[],
          unknown,
        ];
        const position = Number(c?.position);
        const [upTo] = await world.counterDb.query<RowDataPacket[]>(
          'SELECT order_id FROM sync_order WHERE id <= ?',
          [position],
        );
        const [recorded] = await world.engineDb.query<RowDataPacket[]>(
          'SELECT COUNT(*) AS n FROM settlement_order WHERE order_id IN (?)',
          [upTo.length > 0 ? upTo.map((r) => r.order_id) : ['']],
        );
        const entries = await redis.xlen(`${world.config.redisPrefix}:settle:1`);
        if (Number(recorded[0]?.n) !== upTo.length || entries < upTo.length)
          s.behind.push(
            `cursor ${position}: ${upTo.length} rows, ${recorded[0]?.n} recorded, ${entries} enqueued`,
          );
        s.saved.push(position);
        await conn.commit();
      } finally {
        conn.release();
        s.inFlight--;
      }
    };
    return { s, guard };
  };

  const lastId = async () => {
    const [[r]] = (await world.counterDb.query('SELECT MAX(id) AS id FROM sync_order')) as [
      RowDataPacket[],
      unknown,
    ];
    return Number(r?.id);
  };

  it('takes a burst in back-to-back full polls while the cursor save is held, then saves the latest position', async () => {
    const N = 1050;
    // long enough that a single pause inside the burst shows in its duration
    const INTERVAL_MS = 10_000;
    await writeCounterRows(world.counterDb, makeCounterRows(N, { flow: 'open', shards: 16, runId: 'bur' }));
    const last = await lastId();
    let release = () => {};
    const hold = new Promise<void>((r) => {
      release = r;
    });
    const { s, guard } = checkedSaves(hold);
    const poller = new IntakePoller(
      world.counterDb,
      world.engineDb,
      new Intake(world.engineDb, redis, world.config.redisPrefix),
      { intervalMs: INTERVAL_MS, batch: BATCH, shards: 16, gapWaitMs: 10_000 },
      createLogger('silent'),
      guard,
    );
    const startedAt = Date.now();
    poller.start();
    try {
      await waitFor('the burst taken in', async () => poller.counts.rows === N, 9000, 5);
      const burstMs = Date.now() - startedAt;
      assert.equal(poller.counts.polls, Math.ceil(N / BATCH), 'one poll per batch, none empty in between');
      assert.ok(burstMs < INTERVAL_MS, `the burst took ${burstMs} ms: a pause came between polls`);
      assert.equal(s.calls, 1, 'the first cursor save is still held');
      assert.deepEqual(s.saved, [], 'nothing saved while the save is held');

      release();
      await waitFor(
        'the last position saved',
        async () => s.saved.at(-1) === last && s.inFlight === 0,
        5000,
        10,
      );
      // the polls ran on while the first save waited: the next save wrote the latest position
      assert.ok(s.calls <= 3, `${s.calls} saves for one burst: the positions in between were not merged`);
    } finally {
      release();
      await poller.stop();
    }
    assert.equal(s.maxInFlight, 1, 'two cursor saves at once');
    assert.deepEqual(s.behind, []);
  });

  it('saves during a slow intake never pass the rows intake has recorded and enqueued', async () => {
    const { s, guard } = checkedSaves(Promise.resolve());
    const intake = new Intake(world.engineDb, redis, world.config.redisPrefix);
    // a slow take-in: a save started before it ended would find its rows missing
    const slow = {
      takeIn: async (orders: Parameters<Intake['takeIn']>[0], source: string) => {
        await new Promise((r) => setTimeout(r, 40));
        return intake.takeIn(orders, source);
      },
      reject: intake.reject.bind(intake),
    };
    const poller = new IntakePoller(
      world.counterDb,
      world.engineDb,
      slow,
      { intervalMs: 5, batch: BATCH, shards: 16, gapWaitMs: 10_000 },
      createLogger('silent'),
      guard,
    );
    poller.start();
    try {
      await writeCounterRows(
        world.counterDb,
        makeCounterRows(1500, { flow: 'open', shards: 16, runId: 'slw' }),
        1500,
      );
      const last = await lastId();
      await waitFor(
        'the last position saved',
        async () => s.saved.at(-1) === last && s.inFlight === 0,
        20_000,
        10,
      );
    } finally {
      await poller.stop();
    }
    assert.ok(s.saved.length >= 3, `only ${s.saved.length} saves: none came during the burst`);
    assert.equal(s.maxInFlight, 1, 'two cursor saves at once');
    assert.deepEqual(s.behind, []);
    assert.deepEqual(
      s.saved,
      [...s.saved].sort((a, b) => a - b),
      'the saved cursor went back',
    );
  });
});
