import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import { money } from '../../src/domain/money.js';
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
 * A copier stop across a crash: the copy engine is SIGKILLed after a trigger's close
 * reached the exchange and before it was recorded; the engine started again (its stop
 * watcher sees the same slices and decides the same request ids, the fan-out takes the
 * pending request over and finds the order on the exchange) places each close once.
 */
describe('copy trading: copier stops across a crash', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let admin: SimAdmin;
  let engine: Child;
  let port: number;
  let trader: { traderId: string; apiKey: string; secret: string };
  let socket: TraderSocket;

  const rows = async (sql: string, args: unknown[] = []) =>
    (await world.engineDb.query<RowDataPacket[]>(sql, args))[0];
  const position = async (copierId: string) =>
    (await exchange.positions(copierId)).positions.find((p) => p.instrument === INSTRUMENT)?.qty ?? '0';
  const start = async () => {
    engine = world.spawn(['copy']);
    socket?.close();
    socket = await waitFor(
      'the signal ingress',
      () => TraderSocket.open(port, trader.apiKey, trader.secret),
      30_000,
      100,
    );
  };

  before(async () => {
    port = await freePort();
    await world.setUp({ TF_COPY_INGRESS_PORT: String(port) });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    admin = await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    trader = await seedTrader(world.copyRows(), exchange, 'lead1');
    await seedCopiers(world.copyRows(), exchange, [
      // a stop loss at −2% (0.2 of the margin at 10×)
      {
        follow: follow('k1', 'lead1', { sizing: { mode: 'fixed-ratio', ratio: '2' }, stopLossRatio: '0.2' }),
        usdt: '100000',
      },
      // about 1,000 USDT at 10× with an equity stop at 85 of 100: about −1.5%
      {
        follow: follow('k2', 'lead1', { copyFunds: '100', equityStopRatio: '0.15' }),
        usdt: '100000',
      },
    ]);
    await admin.setPrice('BTC', (await exchange.price(INSTRUMENT)).price, { hold: true });
    await start();
  });
  after(async () => {
    socket?.close();
    await exchange?.close();
    await world.tearDown();
  });

  it('SIGKILL after the trigger placed its close, then a restart: each close once, the follow paused, one notice', async () => {
    const price = (await exchange.price(INSTRUMENT)).price;
    const ack = await socket.send(signalOf('lead1', { signalId: 'o1', price }));
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    await waitFor('o1 fanned out', () => fannedOut(world.engineDb, 'o1@lead1'), 30_000, 20);
    assert.equal(await position('k1'), '2');
    assert.notEqual(await position('k2'), '0');

    // the exchange applies each order at once and answers 1.5 s later: the kill falls between
    const before = (await exchange.ledger()).ordersApplied;
    await admin.setFaults({ 'exchange/orders': { latencyMs: 1500 } });
    await admin.setPrice('BTC', money(price).times('0.97').toDecimalPlaces(1).toFixed(), { hold: true });
    await waitFor(
      "a stop's close applied",
      async () => (await exchange.ledger()).ordersApplied > before,
      15_000,
      20,
    );
    engine.kill('SIGKILL');
    await engine.exited;
    // placed, and not recorded
    assert.deepEqual(await rows("SELECT 1 FROM copy_order WHERE signal_key LIKE 'stop/%'"), []);
    await admin.setFaults({});

    await start();
    const closes = await waitFor(
      'both closes recorded',
      async () => {
        const r = await rows(
          "SELECT copier_id, signal_key, client_order_id, status FROM copy_order WHERE signal_key LIKE 'stop/%' ORDER BY copier_id",
        );
        return r.length === 2 ? r : undefined;
      },
      40_000,
      100,
    );
    assert.deepEqual(
      closes.map((c) => [c.copier_id, String(c.signal_key).slice(0, 8), c.status]),
      [
        ['k1', 'stop/sl-', 'FILLED'],
        ['k2', 'stop/eq-', 'FILLED'],
      ],
    );
    // the watcher of the new engine decided the same triggers again: they close nothing more
    await new Promise((r) => setTimeout(r, 1500));
    const ledger = await exchange.ledger();
    assert.equal(ledger.ordersApplied, before + 2);
    assert.equal(ledger.duplicatedClientOrderIds, 0);
    assert.equal(ledger.conserved, true);
    for (const c of closes) {
      const [found] = await exchange.lookupOrders([
        { account: c.copier_id, clientOrderId: c.client_order_id },
      ]);
      assert.equal(found?.clientOrderId, c.client_order_id);
    }
    assert.equal(await position('k1'), '0');
    assert.equal(await position('k2'), '0');
    assert.deepEqual(
      (await rows('SELECT copier_id, status FROM copy_follow ORDER BY copier_id')).map((f) => [
        f.copier_id,
        f.status,
      ]),
      [
        ['k1', 'active'],
        ['k2', 'paused'],
      ],
    );
    assert.deepEqual(
      (
        await rows(
          "SELECT user_id, COUNT(*) AS n FROM copy_notice WHERE kind='protection' GROUP BY user_id ORDER BY user_id",
        )
      ).map((r) => [String(r.user_id), Number(r.n)]),
      [
        ['k1', 1],
        ['k2', 1],
      ],
    );
    assert.deepEqual(
      (await rows("SELECT COUNT(*) AS n FROM copy_order WHERE signal_key LIKE 'stop/%'")).map((r) =>
        Number(r.n),
      ),
      [2],
    );
  });
});
