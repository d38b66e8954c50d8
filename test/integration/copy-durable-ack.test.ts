import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { signalKeyOf } from '../../src/copytrade/fanout/fanout.js';
import { createRedis, deleteKeys, type RedisClient } from '../../src/infra/redis.js';
import {
  fannedOut,
  follow,
  INSTRUMENT,
  seedCopiers,
  seedTrader,
  signalOf,
  TraderSocket,
} from '../../src/load/copy-world.js';
import { type Child, freePort, TestWorld, waitFor } from '../support/harness.js';

/**
 * An ack means durable (issue 11): signals acked while the fan-out lags, the engine killed,
 * every Redis key of the world gone (stream, seen keys, group), the engine started again:
 * each acked signal is copied exactly once, and an acked id is still a duplicate.
 */
describe('copy trading: an acknowledged signal survives Redis losing its data', () => {
  const COPIERS = 20;
  const SIGNALS = 8;
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let admin: SimAdmin;
  let redis: RedisClient;
  let engine: Child;
  let port: number;
  let socket: TraderSocket;
  let trader: { traderId: string; apiKey: string; secret: string };

  const signal = (over: Partial<TraderSignal>): TraderSignal => signalOf(trader.traderId, over);
  const count = async (sql: string) => {
    const [rows] = await world.engineDb.query<RowDataPacket[]>(sql);
    return Number(rows[0]?.n);
  };
  const startEngine = async () => {
    engine = world.spawn(['copy']);
    socket = await waitFor('the ingress', () => TraderSocket.open(port, trader.apiKey, trader.secret));
  };

  before(async () => {
    port = await freePort();
    await world.setUp({ TF_COPY_INGRESS_PORT: String(port), TF_COPY_BATCH_SIZE: '10' });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    admin = await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    redis = createRedis(world.config.redisUrl);
    trader = await seedTrader(world.copyRows(), exchange, 'lead1');
    const copiers = [];
    for (let i = 0; i < COPIERS; i++) {
      copiers.push({ follow: follow(`c${String(i).padStart(2, '0')}`, trader.traderId), usdt: '100000' });
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

  it('acked, then the engine killed and the world’s Redis keys deleted: every signal copied once after a restart', async () => {
    // the fan-out lags far behind the acks
    await admin.setFaults({ 'exchange/orders': { latencyMs: 400 } });
    const price = (await exchange.price(INSTRUMENT)).price;
    for (let i = 1; i <= SIGNALS; i++) {
      const ack = await socket.send(signal({ signalId: `d${i}`, price }));
      assert.deepEqual([ack.type, ack.duplicate], ['ack', false], JSON.stringify(ack));
    }
    engine.kill('SIGKILL');
    await engine.exited;
    socket.close();
    const lost = await deleteKeys(redis, world.config.redisPrefix);
    assert.ok(lost > 0, 'the stream and the seen keys were there');
    await admin.setFaults({});

    await startEngine();
    for (let i = 1; i <= SIGNALS; i++) {
      const key = signalKeyOf('lead1', `d${i}`);
      await waitFor(`${key} done`, () => fannedOut(world.engineDb, key), 60_000, 50);
    }
    const ledger = await exchange.ledger();
    assert.equal(ledger.duplicatedClientOrderIds, 0);
    assert.equal(ledger.ordersApplied, SIGNALS * COPIERS);
    assert.equal(ledger.conserved, true);
    assert.equal(
      await count("SELECT COUNT(*) AS n FROM copy_order WHERE status='FILLED'"),
      SIGNALS * COPIERS,
    );
    assert.equal(await count('SELECT COUNT(*) AS n FROM copy_skip'), 0);
  });

  it('an acked id is still a duplicate once Redis forgot it; nothing is placed again', async () => {
    const before = await exchange.ledger();
    const ack = await socket.send(
      signal({ signalId: 'd1', price: (await exchange.price(INSTRUMENT)).price }),
    );
    assert.deepEqual([ack.type, ack.duplicate], ['ack', true], JSON.stringify(ack));
    await new Promise((r) => setTimeout(r, 500));
    const after = await exchange.ledger();
    assert.equal(after.ordersApplied, before.ordersApplied);
    assert.equal(await count('SELECT COUNT(*) AS n FROM copy_order'), SIGNALS * COPIERS);
  });
});
