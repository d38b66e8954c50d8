import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { CopierBook } from '../../src/copytrade/fanout/book.js';
import { CopyStore } from '../../src/copytrade/fanout/copy-store.js';
import { Fanout, type FanoutExchange } from '../../src/copytrade/fanout/fanout.js';
import { FanoutWorker } from '../../src/copytrade/fanout/fanout-worker.js';
import { createSignalAcceptor } from '../../src/copytrade/ingress/accept.js';
import { signalDeadLetterKey, signalStreamKey } from '../../src/copytrade/ingress/codec.js';
import { requeueAccepted } from '../../src/copytrade/ingress/requeue.js';
import { readDeadLetters } from '../../src/infra/dead-letter.js';
import { createLogger } from '../../src/infra/log.js';
import { createPool, type Pool } from '../../src/infra/mysql/client.js';
import { createRedis, deleteKeys, type RedisClient } from '../../src/infra/redis.js';
import { MYSQL_URL, REDIS_URL, TestWorld, waitFor } from '../support/harness.js';

/**
 * A signal the fan-out dead-letters (issue 11) is finished in copy_signal, so that the
 * engine's start, which queues again every accepted signal not finished and missing from
 * the stream, does not run it (and dead-letter it) again at every start. The engine's start
 * is replayed in process: requeueAccepted, then a new fan-out worker, on the real Redis and
 * MySQL; the exchange's price of the signal's instrument is 0 (a feed gone wrong), which no
 * copier can be sized at.
 */
describe('copy fan-out: a dead-lettered signal is finished, not queued again at the next start', () => {
  const world = new TestWorld();
  const prefix = `tfd${randomBytes(4).toString('hex')}`;
  const log = createLogger('silent');
  let redis: RedisClient;
  let writer: Pool;
  const blocking: RedisClient[] = [];
  const workers: FanoutWorker[] = [];

  const signal = (signalId: string, instrument = 'BTC-USDT-SWAP'): TraderSignal => ({
    signalId,
    traderId: 'lead1',
    instrument,
    action: 'open',
    side: 'long',
    qty: '1',
    price: '64000',
    leverage: 10,
    positionBefore: '0',
    filledMs: Date.now(),
  });
  const exchange: FanoutExchange = {
    placeOrders: async () => [],
    lookupOrders: async (refs) => refs.map(() => null),
  };
  /** what copy-engine.ts does at start: queue again what Redis lost, then the worker */
  const startEngine = async (n: number) => {
    const book = new CopierBook();
    book.setLead({
      traderId: 'lead1',
      instruments: ['BTC-USDT-SWAP', 'ETH-USDT-SWAP'],
      maxCopiers: 10,
      profitShareRatio: '0.1',
      onLiquidation: 'close',
      signalSource: 'frames',
    });
    for (const instrument of ['BTC-USDT-SWAP', 'ETH-USDT-SWAP']) {
      book.setRules({ instrument, contractSize: '0.01', minQty: '1', qtyStep: '1', tickSize: '0.1' });
    }
    const store = new CopyStore(world.engineDb, writer);
    // BTC's price from the exchange is 0, at every start
    const market = (instrument: string) => ({
      price: instrument === 'BTC-USDT-SWAP' ? '0' : '3000',
      feeRate: '0.0005',
    });
    const fanout = new Fanout(book, exchange, store, market, { batchSize: 10 }, log);
    const b = createRedis(REDIS_URL, { blocking: true });
    blocking.push(b);
    const consumer = `engine-${n}`;
    await requeueAccepted({ redis, pool: world.engineDb, prefix, consumer, seenTtlMs: 60_000, logger: log });
    const w = new FanoutWorker(redis, b, fanout, { prefix, consumer }, log);
    workers.push(w);
    await w.start();
    return w;
  };
  const finished = async (signalKey: string) => {
    const [rows] = await world.engineDb.query<RowDataPacket[]>(
      'SELECT done_ms FROM copy_signal WHERE signal_key=?',
      [signalKey],
    );
    return rows[0]?.done_ms !== null && rows[0]?.done_ms !== undefined;
  };

  before(async () => {
    await world.setUp();
    redis = createRedis(REDIS_URL);
    writer = createPool(MYSQL_URL, world.config.engineDb, { connections: 2, multipleStatements: true });
  });
  after(async () => {
    await Promise.allSettled(workers.map((w) => w.stop(2000)));
    for (const b of blocking) b.disconnect();
    await writer?.end();
    if (redis) {
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
    await world.tearDown();
  });

  it('is dead-lettered once with its reason, recorded as finished, and not run again after a restart', async () => {
    const accept = createSignalAcceptor({
      redis,
      pool: world.engineDb,
      prefix,
      seenTtlMs: 60_000,
      maxSkewMs: 10_000,
    });
    const dead = signalDeadLetterKey(prefix);
    const first = await startEngine(1);
    const acked = await accept(signal('bad1'), Date.now(), 'ws');
    assert.equal(typeof acked.entryId, 'string');
    await waitFor('the dead letter', async () => (await redis.xlen(dead)) === 1, 10_000, 20);
    await waitFor('the stream emptied', async () => (await redis.xlen(signalStreamKey(prefix))) === 0);
    await first.stop(2000);

    // started again: a signal after it (ETH's price is fine) shows the start is over
    await startEngine(2);
    await accept(signal('good1', 'ETH-USDT-SWAP'), Date.now(), 'ws');
    await waitFor('good1 done', () => finished('good1@lead1'), 10_000, 20);
    const letters = await readDeadLetters(redis, dead, 10);
    assert.equal(letters.length, 1, 'dead-lettered once, not again at the start');
    assert.match(letters[0]?.reason ?? '', /^signal bad1@lead1: .*must be > 0/);
    const [[row]] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT done_ms, orders, skips, outcome FROM copy_signal WHERE signal_key='bad1@lead1'",
    );
    assert.ok(row && row.done_ms !== null, 'finished');
    assert.deepEqual([row?.outcome, row?.orders, row?.skips], ['dead-lettered', 0, 0]);
    const [[good]] = await world.engineDb.query<RowDataPacket[]>(
      "SELECT outcome FROM copy_signal WHERE signal_key='good1@lead1'",
    );
    assert.equal(good?.outcome, 'fanned-out');
  });
});
