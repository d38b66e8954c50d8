import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import { hashToken } from '../../src/copytrade/accounts/secrets.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { signalKeyOf } from '../../src/copytrade/fanout/fanout.js';
import { encodeSignalEntry, signalStreamKey } from '../../src/copytrade/ingress/codec.js';
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
 * Ids compare exactly in MySQL as they do in Redis and on the exchange (issue 11): `a1` and
 * `A1` are two signals of one trader, each copied and recorded; a token with other case or
 * trailing spaces finds nobody.
 */
describe('copy trading: ids, keys and tokens compare byte for byte', () => {
  const COPIERS = 20;
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let redis: RedisClient;
  let socket: TraderSocket;
  let trader: { traderId: string; apiKey: string; secret: string };

  const signal = (over: Partial<TraderSignal>): TraderSignal => signalOf(trader.traderId, over);
  const count = async (sql: string, args: unknown[] = []) => {
    const [rows] = await world.engineDb.query<RowDataPacket[]>(sql, args);
    return Number(rows[0]?.n);
  };
  const done = (signalId: string) =>
    waitFor(`${signalId} done`, () => fannedOut(world.engineDb, signalKeyOf('lead1', signalId)), 30_000, 20);

  before(async () => {
    const port = await freePort();
    await world.setUp({ TF_COPY_INGRESS_PORT: String(port) });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    redis = createRedis(world.config.redisUrl);
    trader = await seedTrader(world.copyRows(), exchange, 'lead1');
    const copiers = [];
    for (let i = 0; i < COPIERS; i++) {
      copiers.push({ follow: follow(`c${String(i).padStart(2, '0')}`, trader.traderId), usdt: '10000' });
    }
    await seedCopiers(world.copyRows(), exchange, copiers);
    world.spawn(['copy']);
    socket = await waitFor('the ingress', () => TraderSocket.open(port, trader.apiKey, trader.secret));
  });
  after(async () => {
    socket?.close();
    redis?.disconnect();
    await exchange?.close();
    await world.tearDown();
  });

  it('signals a1 and A1 of one trader are both placed and both recorded', async () => {
    const price = (await exchange.price(INSTRUMENT)).price;
    for (const signalId of ['a1', 'A1']) {
      const ack = await socket.send(signal({ signalId, price }));
      assert.deepEqual([ack.type, ack.duplicate], ['ack', false], JSON.stringify(ack));
      await done(signalId);
    }
    const ledger = await exchange.ledger();
    assert.equal(ledger.ordersApplied, 2 * COPIERS);
    assert.equal(ledger.duplicatedClientOrderIds, 0);
    for (const signalId of ['a1', 'A1']) {
      assert.equal(
        await count("SELECT COUNT(*) AS n FROM copy_order WHERE signal_key=? AND status='FILLED'", [
          signalKeyOf('lead1', signalId),
        ]),
        COPIERS,
        `orders recorded for ${signalId}`,
      );
    }
    assert.equal(await count('SELECT COUNT(*) AS n FROM copy_order'), 2 * COPIERS);
    assert.equal(await count('SELECT COUNT(*) AS n FROM copy_skip'), 0);
  });

  it('a redelivery of A1 places nothing and skips nobody', async () => {
    const price = (await exchange.price(INSTRUMENT)).price;
    // past the ingress's dedup, as an operator's replay would
    await redis.xadd(
      signalStreamKey(world.config.redisPrefix),
      '*',
      ...encodeSignalEntry({
        signal: signal({ signalId: 'A1', price }),
        receivedMs: Date.now(),
        source: 'ws',
      }),
    );
    await waitFor(
      'the replayed entry handled',
      async () => (await redis.xlen(signalStreamKey(world.config.redisPrefix))) === 0,
    );
    const ledger = await exchange.ledger();
    assert.equal(ledger.ordersApplied, 2 * COPIERS);
    assert.equal(await count('SELECT COUNT(*) AS n FROM copy_order'), 2 * COPIERS);
    assert.equal(await count('SELECT COUNT(*) AS n FROM copy_skip'), 0);
  });

  it('a token matches only byte for byte: no other case, no trailing spaces', async () => {
    // MySQL holds the token's SHA-256 in BINARY(32): another string is another hash, and
    // BINARY compares every byte (a hash is never padded, it is always 32 bytes)
    const lookup = (token: string) =>
      count('SELECT COUNT(*) AS n FROM copy_copier WHERE token_hash=?', [hashToken(token)]);
    assert.equal(await lookup('token-c00'), 1);
    assert.equal(await lookup('TOKEN-C00'), 0);
    assert.equal(await lookup('token-c00   '), 0);
  });
});
