import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient, type FilledOrder } from '../../src/clients/exchange.js';
import { createSignalAcceptor } from '../../src/copytrade/ingress/accept.js';
import { decodeSignalEntry, type SignalEntry, signalStreamKey } from '../../src/copytrade/ingress/codec.js';
import { type FillConsumer, startFillConsumer } from '../../src/copytrade/ingress/fill-consumer.js';
import { LeaderTable } from '../../src/copytrade/ingress/fill-filter.js';
import { createDeadLetter } from '../../src/copytrade/ingress/fill-intake.js';
import { createLogger } from '../../src/infra/log.js';
import { migrateDatabase } from '../../src/infra/mysql/migrate.js';
import { createRedis, type RedisClient } from '../../src/infra/redis.js';
import { type RunningSim, startSim } from '../../src/sim/server.js';
import { MYSQL_URL, REDIS_URL, TestWorld, waitFor } from '../support/harness.js';

/**
 * The fill consumer on the simulator's real `/exchange/events`: orders placed on the
 * simulated exchange by a lead trader, by another account and as copy orders; only the lead
 * trader's own fills on the instrument it leads become signals, field for field.
 */

const id = randomBytes(4).toString('hex');
const COUNTER_DB = `tf_t_${id}_c`;
const prefix = `tft${id}`;
const lead = `lead-${id}`;
const other = `other-${id}`;

let sim: RunningSim;
let exchange: ExchangeClient;
let redis: RedisClient;
let consumer: FillConsumer;

async function signals(): Promise<SignalEntry[]> {
  return (await redis.xrange(signalStreamKey(prefix), '-', '+')).map(([, fields]) => {
    const e = decodeSignalEntry(fields);
    if ('error' in e) throw new Error(e.error);
    return e;
  });
}

/** copy_signal, where an accepted signal is recorded before its ack */
const db = new TestWorld();

before(async () => {
  await db.setUp();
  await migrateDatabase(MYSQL_URL, COUNTER_DB, 'counter');
  sim = await startSim({
    host: '127.0.0.1',
    port: 0,
    feeRate: '0.001',
    faults: {},
    mysqlUrl: MYSQL_URL,
    counterDb: COUNTER_DB,
    logger: createLogger('warn', 'sim-test'),
  });
  exchange = createExchangeClient(`http://127.0.0.1:${sim.port}`);
  redis = createRedis(REDIS_URL, { name: 'copy-ingress-sim-test' });
  for (const account of [lead, other]) {
    await exchange.createAccount({ account, balances: { USDT: '1000000' }, positionMode: 'hedge' });
  }
  const leaders = new LeaderTable([
    { account: lead, traderId: 'trader-lead', instruments: ['BTC-USDT-SWAP'], signalSource: 'fills' },
  ]);
  consumer = startFillConsumer({
    url: `ws://127.0.0.1:${sim.port}/exchange/events`,
    leaders: () => leaders,
    accept: createSignalAcceptor({ redis, pool: db.engineDb, prefix, seenTtlMs: 60_000, maxSkewMs: 10_000 }),
    deadLetter: createDeadLetter(redis, prefix),
  });
  await consumer.connected;
});

after(async () => {
  await db.tearDown();
  await consumer?.close();
  await exchange?.close();
  await sim?.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  const admin = await mysql.createConnection(MYSQL_URL);
  await admin.query(`DROP DATABASE IF EXISTS \`${COUNTER_DB}\``);
  await admin.end();
});

describe('copy ingress: fills of the simulated exchange', () => {
  it('makes signals of the lead trader’s own fills on the instrument it leads, and of nothing else', async () => {
    const order = (
      account: string,
      clientOrderId: string,
      over: Partial<Parameters<ExchangeClient['placeOrder']>[0]> = {},
    ) =>
      exchange.placeOrder({
        account,
        clientOrderId,
        instrument: 'BTC-USDT-SWAP',
        side: 'buy',
        positionSide: 'long',
        qty: '2',
        ...over,
      });
    const opened = await order(lead, 'own-1');
    await order(other, 'own-2');
    await order(lead, 'own-3', { instrument: 'ETH-USDT-SWAP' });
    await order(lead, 'sig-1:copier-1'); // a copy order placed for the lead trader as a copier
    const closed = await order(lead, 'own-4', { side: 'sell', qty: '1.5' });

    await waitFor('two signals', async () => consumer.stats().signals === 2, 5000, 20);
    await consumer.intake.idle();
    const expected = (o: FilledOrder, action: 'open' | 'close', positionBefore: string) => ({
      signalId: `fill-${o.orderId}-1`,
      traderId: 'trader-lead',
      instrument: 'BTC-USDT-SWAP',
      action,
      side: 'long',
      qty: o.qty,
      price: o.price,
      leverage: o.leverage,
      positionBefore,
      filledMs: o.filledMs,
    });
    const got = await signals();
    assert.deepEqual(
      got.map((e) => e.signal),
      [expected(opened, 'open', '0'), expected(closed, 'close', '4')],
    );
    assert.ok(got.every((e) => e.source === 'fill' && e.receivedMs >= e.signal.filledMs));
    const s = consumer.stats();
    assert.deepEqual(
      {
        invalid: s.invalid,
        notLeader: s.dropped['not-leader'],
        notLed: s.dropped['not-led'],
        copy: s.dropped['copy-order'],
      },
      { invalid: 0, notLeader: 1, notLed: 1, copy: 1 },
    );
  });
});
