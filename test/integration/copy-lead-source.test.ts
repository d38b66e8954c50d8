import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { signalStreamKey } from '../../src/copytrade/ingress/codec.js';
import { createRedis, type RedisClient } from '../../src/infra/redis.js';
import {
  fannedOut,
  follow,
  INSTRUMENT,
  seedCopiers,
  seedTrader,
  signalOf,
  TraderSocket,
} from '../../src/load/copy-world.js';
import { freePort, TestWorld, waitFor } from '../support/harness.js';

/**
 * The copy engine with fill intake on (issue 11): a lead's signals come from one source, its
 * frames or its fills, so a lead that both sends frames and trades on the exchange is copied
 * once.
 */
describe('copy trading: one source of signals per lead, with fill intake on', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let admin: SimAdmin;
  let redis: RedisClient;
  let port: number;
  let framesLead: { traderId: string; apiKey: string; secret: string };
  let fillsLead: { traderId: string; apiKey: string; secret: string };
  let socket: TraderSocket;

  const signal = (over: Partial<TraderSignal>): TraderSignal => signalOf(framesLead.traderId, over);
  const rows = async (sql: string, args: unknown[] = []) =>
    (await world.engineDb.query<RowDataPacket[]>(sql, args))[0];
  const done = (signalKey: string) =>
    waitFor(`${signalKey} done`, () => fannedOut(world.engineDb, signalKey), 30_000, 20);
  const startEngine = async () => {
    world.spawn(['copy']);
    socket = await waitFor(
      'the ingress',
      () => TraderSocket.open(port, framesLead.apiKey, framesLead.secret),
      30_000,
      100,
    );
  };
  const streamEmpty = () =>
    waitFor(
      'the stream emptied',
      async () => (await redis.xlen(signalStreamKey(world.config.redisPrefix))) === 0,
      10_000,
      20,
    );
  /** the lead trading on its own exchange account: a fill event the engine sees */
  const trade = (traderId: string, clientOrderId: string) =>
    exchange.placeOrder({ account: traderId, clientOrderId, instrument: INSTRUMENT, side: 'buy', qty: '1' });

  before(async () => {
    port = await freePort();
    await world.setUp({ TF_COPY_INGRESS_PORT: String(port), TF_COPY_LEADERS_REFRESH_MS: '200' });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    world.env.TF_COPY_FILL_EVENTS_URL = `${world.config.counterUrl.replace('http', 'ws')}/exchange/events`;
    admin = await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    redis = createRedis(world.config.redisUrl);
    framesLead = await seedTrader(world.copyRows(), exchange, 'lead1');
    fillsLead = await seedTrader(world.copyRows(), exchange, 'lead2', { signalSource: 'fills' });
    const copiers = [];
    for (let i = 0; i < 3; i++) {
      copiers.push({ follow: follow(`c${i}`, framesLead.traderId), usdt: '100000' });
      copiers.push({ follow: follow(`d${i}`, fillsLead.traderId), usdt: '100000' });
    }
    await seedCopiers(world.copyRows(), exchange, copiers);
    await startEngine();
  });
  after(async () => {
    socket?.close();
    redis?.disconnect();
    await admin?.setFaults({}).catch(() => undefined);
    await exchange?.close();
    await world.tearDown();
  });

  it('a frames lead that also trades on the exchange is copied once per copier; a fills lead by its fills only', async () => {
    const price = (await exchange.price(INSTRUMENT)).price;
    // lead1 trades, and tells its copiers by a frame: its fill is the same trade
    await trade(framesLead.traderId, 'own-1');
    const ack = await socket.send(signal({ signalId: 'f1', price }));
    assert.deepEqual([ack.type, ack.duplicate], ['ack', false], JSON.stringify(ack));
    await done('f1@lead1');
    // lead2's frames are refused; its fill is its signal
    const lead2 = await TraderSocket.open(port, fillsLead.apiKey, fillsLead.secret);
    const refused = await lead2.send(signal({ signalId: 'g1', traderId: fillsLead.traderId, price }));
    lead2.close();
    assert.deepEqual(
      [refused.type, refused.code, refused.signalId],
      ['error', 'WRONG_SOURCE', 'g1'],
      JSON.stringify(refused),
    );
    const filled = await trade(fillsLead.traderId, 'own-2');
    const fillKey = `fill-${filled.orderId}-1@lead2`;
    await done(fillKey);
    await streamEmpty();

    const signals = await rows('SELECT signal_key FROM copy_signal ORDER BY seq');
    assert.deepEqual(
      signals.map((r) => r.signal_key),
      ['f1@lead1', fillKey],
    );
    const perCopier = await rows(
      'SELECT copier_id, COUNT(*) AS n FROM copy_order GROUP BY copier_id ORDER BY copier_id',
    );
    assert.deepEqual(
      perCopier.map((r) => [r.copier_id, Number(r.n)]),
      [
        ['c0', 1],
        ['c1', 1],
        ['c2', 1],
        ['d0', 1],
        ['d1', 1],
        ['d2', 1],
      ],
    );
  });
});
