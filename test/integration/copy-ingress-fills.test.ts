import uWS, { type WebSocket } from 'uWebSockets.js';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createSignalAcceptor } from '../../src/copytrade/ingress/accept.js';
import {
  decodeSignalEntry,
  signalDeadLetterKey,
  signalStreamKey,
} from '../../src/copytrade/ingress/codec.js';
import { type FillConsumer, startFillConsumer } from '../../src/copytrade/ingress/fill-consumer.js';
import type { Leader } from '../../src/copytrade/ingress/fill-filter.js';
import { createDeadLetter } from '../../src/copytrade/ingress/fill-intake.js';
import { type LeaderRefresh, startLeaderRefresh } from '../../src/copytrade/ingress/leader-refresh.js';
import { type Listening, listen } from '../../src/infra/http.js';
import { createRedis, fieldMap, type RedisClient } from '../../src/infra/redis.js';
import { REDIS_URL, TestWorld, waitFor } from '../support/harness.js';

/**
 * The fill consumer against a stand-in for the exchange simulator's `/exchange/events`
 * (a uWS server pushing what the test tells it to), storing into the real Redis.
 */

const prefix = `tft${randomBytes(4).toString('hex')}`;
const stream = signalStreamKey(prefix);

let redis: RedisClient;
let exchange: Listening;
const sockets = new Set<WebSocket<object>>();
let leaders: Leader[] = [
  { account: 'acc-1', traderId: 'trader-a', instruments: ['BTC-USDT-SWAP'], signalSource: 'fills' },
  // its signals are its frames: its fills mirror them
  { account: 'acc-f', traderId: 'trader-f', instruments: ['BTC-USDT-SWAP'], signalSource: 'frames' },
];
let refresh: LeaderRefresh;
let consumer: FillConsumer;

const push = (...messages: string[]): void => {
  for (const ws of sockets) for (const m of messages) ws.send(m);
};

let fillSeq = 0;
const fill = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: 'fill',
  account: 'acc-1',
  instrument: 'BTC-USDT-SWAP',
  side: 'long',
  action: 'open',
  qty: '2',
  price: '64000',
  leverage: 10,
  positionBefore: '0',
  clientOrderId: `own-${fillSeq}`,
  filledMs: Date.now(),
  fillId: `f${++fillSeq}`,
  ...over,
});
const text = (over: Record<string, unknown> = {}): string => JSON.stringify(fill(over));

async function stored(): Promise<
  { signalId: string; traderId: string; source: string; liquidation?: true }[]
> {
  return (await redis.xrange(stream, '-', '+')).map(([, fields]) => {
    const e = decodeSignalEntry(fields);
    if ('error' in e) throw new Error(e.error);
    const { signalId, traderId, liquidation } = e.signal;
    return { signalId, traderId, source: e.source, ...(liquidation ? { liquidation } : {}) };
  });
}

/** copy_signal, where an accepted signal is recorded before its ack */
const db = new TestWorld();

before(async () => {
  await db.setUp();
  redis = createRedis(REDIS_URL, { name: 'copy-ingress-fills-test' });
  const app = uWS.App().ws<object>('/exchange/events', {
    open: (ws) => {
      sockets.add(ws);
    },
    close: (ws) => {
      sockets.delete(ws);
    },
  });
  exchange = await listen(app, '127.0.0.1', 0);
  refresh = await startLeaderRefresh(
    async () => leaders,
    60_000,
    (err) => {
      throw err;
    },
  );
  consumer = startFillConsumer({
    url: `ws://127.0.0.1:${exchange.port}/exchange/events`,
    leaders: refresh.table,
    accept: createSignalAcceptor({ redis, pool: db.engineDb, prefix, seenTtlMs: 60_000, maxSkewMs: 10_000 }),
    deadLetter: createDeadLetter(redis, prefix),
  });
  await consumer.connected;
  await waitFor('the exchange to see the consumer', async () => sockets.size === 1);
});

after(async () => {
  await db.tearDown();
  await consumer?.close();
  await refresh?.stop();
  exchange?.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('copy ingress: trading-system fills', () => {
  it('turns only lead traders’ fills on led instruments into signals, once each', async () => {
    const lead = fill();
    push(
      text({ account: 'acc-9' }),
      text({ instrument: 'ETH-USDT-SWAP' }),
      JSON.stringify(lead),
      JSON.stringify(lead), // delivered twice
      JSON.stringify({ ...lead, type: 'order' }),
      text({ clientOrderId: 'fill-f1:copier-7' }),
      '{"type":"fill","account":"acc-1",', // broken, from a leader: dead-lettered
      text({ qty: 'lots' }), // malformed leader fill: dead-lettered
      JSON.stringify([fill({ account: 'acc-9' }), fill({ fillId: 'in-array' })]),
      text({ fillId: 'liq', action: 'close', positionBefore: '2', liquidation: true }),
      text({ filledMs: Date.now() - 51_000 }), // beyond seenTtl − maxSkew (50 s): dead-lettered
    );
    await waitFor('12 events', async () => consumer.stats().events === 12, 5000, 10);
    await consumer.intake.idle();
    const s = consumer.stats();
    assert.deepEqual(
      { signals: s.signals, duplicates: s.duplicates, invalid: s.invalid, dropped: s.dropped },
      {
        signals: 3,
        duplicates: 1,
        invalid: 3,
        dropped: { 'not-leader': 2, 'not-led': 1, 'not-fill': 1, 'copy-order': 1, 'frames-lead': 0 },
      },
    );
    assert.deepEqual(await stored(), [
      { signalId: `fill-${lead.fillId}`, traderId: 'trader-a', source: 'fill' },
      { signalId: 'fill-in-array', traderId: 'trader-a', source: 'fill' },
      { signalId: 'fill-liq', traderId: 'trader-a', source: 'fill', liquidation: true },
    ]);
    const dead = (await redis.xrange(signalDeadLetterKey(prefix), '-', '+')).map(([, f]) => fieldMap(f));
    assert.deepEqual(
      dead.map((d) => d.reason),
      [
        'BAD_JSON: event is not JSON',
        'INVALID_SIGNAL event.qty: expected a positive decimal string',
        'STALE_SIGNAL: filledMs is outside the window signal ids are remembered for',
      ],
    );
    assert.equal(dead[0]?.entry, '{"type":"fill","account":"acc-1",');
  });

  it('drops and counts the fills of a lead whose signals are its frames: nothing queued, nothing dead-lettered', async () => {
    await redis.del(stream);
    const before = consumer.stats();
    const deadBefore = await redis.xlen(signalDeadLetterKey(prefix));
    push(
      text({ account: 'acc-f' }),
      text({ account: 'acc-f', action: 'close', positionBefore: '2' }),
      '{"type":"fill","account":"acc-f",', // unreadable, but the lead's own trading: not bad input
    );
    await waitFor('3 events', async () => consumer.stats().events === before.events + 3, 5000, 10);
    await consumer.intake.idle();
    const s = consumer.stats();
    assert.equal(s.dropped['frames-lead'] - before.dropped['frames-lead'], 3);
    assert.deepEqual([s.signals, s.invalid], [before.signals, before.invalid]);
    assert.deepEqual(await stored(), []);
    assert.equal(await redis.xlen(signalDeadLetterKey(prefix)), deadBefore);
  });

  it('follows a refresh of the leader table at the next event', async () => {
    await redis.del(stream);
    const before = consumer.stats().events;
    push(text({ account: 'acc-2', instrument: 'ETH-USDT-SWAP', fillId: 'b-1' }));
    leaders = [
      ...leaders,
      { account: 'acc-2', traderId: 'trader-b', instruments: ['ETH-USDT-SWAP'], signalSource: 'fills' },
    ];
    await waitFor('the event', async () => consumer.stats().events === before + 1, 5000, 10);
    await refresh.refresh();
    push(text({ account: 'acc-2', instrument: 'ETH-USDT-SWAP', fillId: 'b-2' }));
    await waitFor('the event', async () => consumer.stats().events === before + 2, 5000, 10);
    await consumer.intake.idle();
    assert.deepEqual(await stored(), [{ signalId: 'fill-b-2', traderId: 'trader-b', source: 'fill' }]);
  });

  it('reconnects when the feed drops', async () => {
    await redis.del(stream);
    for (const ws of [...sockets]) ws.end(1012, 'restart');
    await waitFor(
      'a reconnection',
      async () => consumer.stats().connects === 2 && sockets.size === 1,
      5000,
      10,
    );
    push(text({ fillId: 'after-reconnect' }));
    await waitFor('the signal', async () => (await stored()).length === 1, 5000, 10);
    assert.deepEqual(await stored(), [
      { signalId: 'fill-after-reconnect', traderId: 'trader-a', source: 'fill' },
    ]);
  });
});
