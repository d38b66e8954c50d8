import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
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
 * Orders the exchange would refuse (issue 14): a copy over the instrument's per-order maximum
 * goes as several orders, each under its own client order id, once on the exchange's ledger;
 * the slice holds the sum of their fills, a close of it is split too and exact, and a
 * redelivery after a SIGKILL places no part twice. The real engine, MySQL, Redis, simulator.
 */
describe('copy trading: a copy over the per-order maximum, split', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let admin: SimAdmin;
  let engine: Child;
  let port: number;
  let trader: { traderId: string; apiKey: string; secret: string };
  let socket: TraderSocket;
  let price: string;

  const signal = (over: Partial<TraderSignal>): TraderSignal => signalOf(trader.traderId, over);
  const done = (signalKey: string) =>
    waitFor(`signal ${signalKey} done`, () => fannedOut(world.engineDb, signalKey), 30_000, 20);
  const rows = async (sql: string, args: unknown[] = []) =>
    (await world.engineDb.query<RowDataPacket[]>(sql, args))[0];
  const sliceQty = async (copierId: string) => {
    const [s] = await rows('SELECT qty FROM copy_slice WHERE copier_id=? AND side=?', [copierId, 'long']);
    return s ? money(s.qty).toFixed() : 'none';
  };
  const position = async (copierId: string) =>
    (await exchange.positions(copierId)).positions.find((p) => p.instrument === INSTRUMENT)?.qty ?? '0';
  /** what the exchange holds under `ids` of the copier's account: the qty filled, or null */
  const onExchange = async (copierId: string, ids: string[]) =>
    (await exchange.lookupOrders(ids.map((clientOrderId) => ({ account: copierId, clientOrderId })))).map(
      (r) => (r === null ? null : [r.requestedQty, r.qty]),
    );
  const startEngine = async () => {
    engine = world.spawn(['copy']);
    socket = await waitFor(
      'the signal ingress',
      () => TraderSocket.open(port, trader.apiKey, trader.secret),
      30_000,
      100,
    );
  };

  before(async () => {
    port = await freePort();
    await world.setUp({ TF_COPY_INGRESS_PORT: String(port), TF_COPY_BATCH_SIZE: '100' });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    admin = await world.startSim();
    // at most 10 contracts per order: the engine reads it from the exchange's instruments at start
    await admin.setMaxOrderQty(INSTRUMENT, '10');
    exchange = createExchangeClient(world.config.counterUrl);
    trader = await seedTrader(world.copyRows(), exchange, 'lead1');
    // big copies 10 contracts per trader contract, small 1: a trader's 2.5 is 25 and 2.5
    const ratio = (id: string, r: string) => ({
      follow: follow(id, trader.traderId, { sizing: { mode: 'fixed-ratio', ratio: r } }),
      usdt: '100000',
    });
    await seedCopiers(world.copyRows(), exchange, [ratio('big', '10'), ratio('small', '1')]);
    price = (await exchange.price(INSTRUMENT)).price;
    await admin.setPrice('BTC', price, { hold: true });
    await startEngine();
  });
  after(async () => {
    socket?.close();
    await exchange?.close();
    await world.tearDown();
  });

  it('an open over the maximum: three orders of 8.33, 8.33 and 8.34, each once, the slice their sum', async () => {
    const before = await exchange.ledger();
    const ack = await socket.send(signal({ signalId: 'o1', qty: '2.5', price }));
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    await done('o1@lead1');

    const ids = ['o1@lead1:big', 'o1@lead1:big/2', 'o1@lead1:big/3', 'o1@lead1:big/4'];
    assert.deepEqual(await onExchange('big', ids), [
      ['8.33', '8.33'],
      ['8.33', '8.33'],
      ['8.34', '8.34'],
      null,
    ]);
    // one copy_order row for the copy, with the sum
    const orders = await rows(
      "SELECT copier_id, client_order_id, qty, status FROM copy_order WHERE signal_key='o1@lead1' ORDER BY copier_id",
    );
    assert.deepEqual(
      orders.map((o) => [o.copier_id, o.client_order_id.toString(), o.status, money(o.qty).toFixed()]),
      [
        ['big', 'o1@lead1:big', 'FILLED', '25'],
        ['small', 'o1@lead1:small', 'FILLED', '2.5'],
      ],
    );
    assert.deepEqual(await rows("SELECT 1 FROM copy_skip WHERE signal_key='o1@lead1'"), []);
    assert.equal(await sliceQty('big'), '25');
    assert.equal(await position('big'), '25');
    assert.equal(await sliceQty('small'), '2.5');
    const ledger = await exchange.ledger();
    assert.equal(ledger.ordersApplied, before.ordersApplied + 4);
    assert.equal(ledger.rejected.QTY_ABOVE_MAX ?? 0, before.rejected.QTY_ABOVE_MAX ?? 0);
    assert.equal(ledger.duplicatedClientOrderIds, 0);
    assert.equal(ledger.conserved, true);
  });

  it('the close of that slice: split too, and exact', async () => {
    const ack = await socket.send(
      signal({ signalId: 'c1', action: 'close', qty: '2.5', positionBefore: '2.5', price }),
    );
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    await done('c1@lead1');
    assert.deepEqual(
      await onExchange('big', ['c1@lead1:big', 'c1@lead1:big/2', 'c1@lead1:big/3', 'c1@lead1:big/4']),
      [['8.33', '8.33'], ['8.33', '8.33'], ['8.34', '8.34'], null],
    );
    const [o] = await rows(
      "SELECT qty, status FROM copy_order WHERE signal_key='c1@lead1' AND copier_id='big'",
    );
    assert.deepEqual([o?.status, money(o?.qty).toFixed()], ['FILLED', '25']);
    for (const copier of ['big', 'small']) {
      assert.equal(await sliceQty(copier), '0', copier);
      assert.equal(await position(copier), '0', copier);
    }
    assert.equal((await exchange.ledger()).duplicatedClientOrderIds, 0);
  });

  it('SIGKILL after the parts are placed, before they are recorded: the next engine places none twice', async () => {
    const before = await exchange.ledger();
    // the exchange applies the batch at once and answers 1.5 s later: the kill falls between
    await admin.setFaults({ 'exchange/orders': { latencyMs: 1500 } });
    await socket.send(signal({ signalId: 'o2', qty: '2.5', price }));
    await waitFor(
      'the parts applied',
      async () => (await exchange.ledger()).ordersApplied >= before.ordersApplied + 4,
      10_000,
      20,
    );
    engine.kill('SIGKILL');
    await engine.exited;
    assert.deepEqual(await rows("SELECT 1 FROM copy_order WHERE signal_key='o2@lead1'"), []);
    await admin.setFaults({});
    socket.close();
    await startEngine();
    await done('o2@lead1');

    const ledger = await exchange.ledger();
    assert.equal(ledger.ordersApplied, before.ordersApplied + 4);
    // found by lookup, not sent again
    assert.equal(ledger.replays, before.replays);
    assert.equal(ledger.duplicatedClientOrderIds, 0);
    assert.equal(ledger.conserved, true);
    const [o] = await rows(
      "SELECT qty, status FROM copy_order WHERE signal_key='o2@lead1' AND copier_id='big'",
    );
    assert.deepEqual([o?.status, money(o?.qty).toFixed()], ['FILLED', '25']);
    assert.equal(await sliceQty('big'), '25');
    assert.equal(await position('big'), '25');
    assert.equal(await sliceQty('small'), '2.5');
    const [s] = await rows("SELECT orders, skips FROM copy_signal WHERE signal_key='o2@lead1'");
    assert.deepEqual([s?.orders, s?.skips], [2, 0]);
  });

  it('a maximum lowered while the engine runs: the copy refused over it once, the next split at the new one', async () => {
    await admin.setMaxOrderQty(INSTRUMENT, '5');
    try {
      await socket.send(signal({ signalId: 'o3', qty: '2.5', price }));
      await done('o3@lead1');
      const [refused] = await rows(
        "SELECT status, error_code FROM copy_order WHERE signal_key='o3@lead1' AND copier_id='big'",
      );
      assert.deepEqual([refused?.status, refused?.error_code], ['REJECTED', 'QTY_ABOVE_MAX']);
      // the refusal made the engine read the rules again
      await socket.send(signal({ signalId: 'o4', qty: '2.5', price }));
      await done('o4@lead1');
      const ids = ['', '/2', '/3', '/4', '/5', '/6'].map((k) => `o4@lead1:big${k}`);
      assert.deepEqual(await onExchange('big', ids), [...Array(5).fill(['5', '5']), null]);
      const [o] = await rows(
        "SELECT qty, status FROM copy_order WHERE signal_key='o4@lead1' AND copier_id='big'",
      );
      assert.deepEqual([o?.status, money(o?.qty).toFixed()], ['FILLED', '25']);
      assert.equal(await sliceQty('big'), '50');
      assert.equal(await position('big'), '50');
    } finally {
      await admin.setMaxOrderQty(INSTRUMENT, '10');
    }
  });
});
