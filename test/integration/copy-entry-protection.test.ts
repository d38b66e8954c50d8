import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { createExchangeClient, type ExchangeClient } from '../../src/clients/exchange.js';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';
import { encodeSignalEntry, signalStreamKey } from '../../src/copytrade/ingress/codec.js';
import { money } from '../../src/domain/money.js';
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
import { type Child, freePort, TestWorld, waitFor } from '../support/harness.js';

/**
 * Entry protection (issue 14): a copied open is an IOC limit order at the copier's max
 * slippage from the trader's fill, so the bound holds even when the price moves between
 * sizing and fill; what does not fill is recorded as a skip with the exchange's reason.
 * Closes go at market, whatever the price did. The real engine, MySQL, Redis and simulator.
 */
describe('copy trading: entry protection at the copier max slippage', () => {
  const world = new TestWorld();
  let exchange: ExchangeClient;
  let admin: SimAdmin;
  let engine: Child;
  let redis: RedisClient;
  let apiPort: number;
  let trader: { traderId: string; apiKey: string; secret: string };
  let socket: TraderSocket;
  let tokens: Map<string, string>;
  /** the feed price held for the tests, and the trader's fill price of its signals */
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
  const times = (p: string, f: string) => money(p).times(f).toDecimalPlaces(2).toFixed();
  /** holds the feed price and lets the engine's price cache (refreshed every 100 ms) see it */
  const hold = async (p: string) => {
    await admin.setPrice('BTC', p, { hold: true });
    await new Promise((r) => setTimeout(r, 400));
  };

  before(async () => {
    const port = await freePort();
    apiPort = await freePort();
    await world.setUp({
      TF_COPY_INGRESS_PORT: String(port),
      TF_COPY_API_PORT: String(apiPort),
      TF_COPY_BATCH_SIZE: '100',
    });
    world.env.TF_EXCHANGE_URL = world.config.counterUrl;
    admin = await world.startSim();
    exchange = createExchangeClient(world.config.counterUrl);
    redis = createRedis(world.config.redisUrl);
    trader = await seedTrader(world.copyRows(), exchange, 'lead1');
    // 2 contracts per trader contract, whatever the price: quantities the tests can name
    const ratio = (id: string, maxSlippage?: string) => {
      const f = follow(id, trader.traderId, { sizing: { mode: 'fixed-ratio', ratio: '2' } });
      if (maxSlippage === undefined) delete f.maxSlippage;
      else f.maxSlippage = maxSlippage;
      return { follow: f, usdt: '100000' };
    };
    // tight: 0.1%; wide: 3%; dflt: none set, BTC's default 0.5%
    tokens = await seedCopiers(world.copyRows(), exchange, [
      ratio('tight', '0.001'),
      ratio('wide', '0.03'),
      ratio('dflt'),
    ]);
    price = (await exchange.price(INSTRUMENT)).price;
    await hold(price);
    engine = world.spawn(['copy']);
    socket = await waitFor(
      'the signal ingress',
      () => TraderSocket.open(port, trader.apiKey, trader.secret),
      30_000,
      100,
    );
  });
  after(async () => {
    socket?.close();
    redis?.disconnect();
    await exchange?.close();
    await world.tearDown();
    void engine;
  });

  it('the price moves past one copier bound between sizing and fill: that copier gets no position and the reason, a wider one fills', async () => {
    // just before tight's order is decided, and dflt's: 1% up, past 0.1% and 0.5%, within wide's 3%
    const moved = times(price, '1.01');
    await admin.movePriceAtNextOrder(INSTRUMENT, moved, { account: 'tight', hold: true });
    await admin.movePriceAtNextOrder(INSTRUMENT, moved, { account: 'dflt', hold: true });
    const ack = await socket.send(signal({ signalId: 'o1', price }));
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    await done('o1@lead1');

    // wide filled in full, at most 3% above the trader's fill
    const [wide] = await rows("SELECT qty, status, fill_price FROM copy_order WHERE copier_id='wide'");
    assert.equal(wide?.status, 'FILLED');
    assert.equal(money(wide?.qty).toFixed(), '2');
    assert.ok(money(wide?.fill_price).lte(money(price).times('1.03')));
    assert.equal(await sliceQty('wide'), '2');
    assert.equal(await position('wide'), '2');

    // tight and dflt: nothing filled, no slice, no position; the reason with the exchange's code and prices
    for (const [copier, max] of [
      ['tight', '1.001'],
      ['dflt', '1.005'],
    ] as const) {
      assert.deepEqual(await rows('SELECT 1 FROM copy_order WHERE copier_id=?', [copier]), [], copier);
      const skips = await rows('SELECT reason, detail FROM copy_skip WHERE copier_id=?', [copier]);
      assert.equal(skips.length, 1, copier);
      assert.equal(skips[0]?.reason, 'not-filled-at-bound', copier);
      const limit = money(price).times(max).toDecimalPlaces(1, 1).toFixed(); // rounded down to the tick
      assert.match(skips[0]?.detail, new RegExp(`^PRICE_BEYOND_LIMIT: buy 2 limit ${limit}, fill price `));
      assert.match(skips[0]?.detail, new RegExp(`lead ${price}$`));
      assert.equal(await sliceQty(copier), 'none', copier);
      assert.equal(await position(copier), '0', copier);
    }
    const [signalRow] = await rows("SELECT orders, skips FROM copy_signal WHERE signal_key='o1@lead1'");
    assert.deepEqual([signalRow?.orders, signalRow?.skips], [1, 2]);
    const ledger = await exchange.ledger();
    assert.equal(ledger.canceled, 2);
    assert.equal(ledger.conserved, true);

    // the copier sees it among its notices, as any skip
    const res = await fetch(`http://127.0.0.1:${apiPort}/notices`, {
      headers: { authorization: `Bearer ${tokens.get('tight')}` },
    });
    const body = (await res.json()) as { notices: { kind: string; payload: { reason: string } }[] };
    assert.deepEqual(
      body.notices.map((n) => [n.kind, n.payload.reason]),
      [['skip', 'not-filled-at-bound']],
    );
  });

  it('the same open entered again (an operator replay past the dedup): no second skip, nothing placed', async () => {
    // back at the trader's fill: sized as the first time, the same orders go to the exchange again
    await hold(price);
    const counts = async () => rows("SELECT orders, skips FROM copy_signal WHERE signal_key='o1@lead1'");
    const countsBefore = await counts();
    const before = await exchange.ledger();
    const skips = async () =>
      rows("SELECT copier_id, detail FROM copy_skip WHERE signal_key='o1@lead1' ORDER BY copier_id");
    const recorded = await skips();
    await redis.xadd(
      signalStreamKey(world.config.redisPrefix),
      '*',
      ...encodeSignalEntry({
        signal: signal({ signalId: 'o1', price }),
        receivedMs: Date.now(),
        source: 'ws',
      }),
    );
    await waitFor(
      'the replayed entry handled',
      async () => (await redis.xlen(signalStreamKey(world.config.redisPrefix))) === 0,
    );
    assert.deepEqual(await skips(), recorded);
    const ledger = await exchange.ledger();
    assert.equal(ledger.ordersApplied, before.ordersApplied);
    assert.equal(ledger.canceled, before.canceled);
    // each answered from its client order id: the fill, and the two cancels
    assert.equal(ledger.replays, before.replays + 3);
    assert.deepEqual(await counts(), countsBefore);
    assert.equal(ledger.duplicatedClientOrderIds, 0);
    assert.equal(await position('tight'), '0');
    assert.equal(await position('wide'), '2');
  });

  it('a partial fill: the slice at the filled quantity, the remainder recorded with its reason', async () => {
    price = times(price, '1.01'); // where the first test left the feed
    await hold(price);
    await admin.setLiquidity(INSTRUMENT, '0.5');
    try {
      const ack = await socket.send(signal({ signalId: 'o2', price }));
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      await done('o2@lead1');
    } finally {
      await admin.setLiquidity(INSTRUMENT, null);
    }
    for (const [copier, slice] of [
      ['wide', '2.5'],
      ['tight', '0.5'],
      ['dflt', '0.5'],
    ] as const) {
      const [o] = await rows(
        "SELECT qty, status FROM copy_order WHERE copier_id=? AND signal_key='o2@lead1'",
        [copier],
      );
      assert.deepEqual([o?.status, money(o?.qty).toFixed()], ['FILLED', '0.5'], copier);
      const [k] = await rows(
        "SELECT reason, detail FROM copy_skip WHERE copier_id=? AND signal_key='o2@lead1'",
        [copier],
      );
      assert.equal(k?.reason, 'unfilled-remainder', copier);
      assert.match(
        k?.detail,
        /^INSUFFICIENT_LIQUIDITY: 0.5 of 2 filled at [\d.]+, 1.5 canceled, limit /,
        copier,
      );
      assert.equal(await sliceQty(copier), slice, copier);
      assert.equal(await position(copier), slice, copier);
    }
  });

  it('closes go at market, even when the price moved far past every bound', async () => {
    // 20% down before the copies are decided: far beyond any max slippage, and a close still fills
    await admin.movePriceAtNextOrder(INSTRUMENT, times(price, '0.8'), { hold: true });
    const ack = await socket.send(
      signal({ signalId: 'c1', action: 'close', qty: '1', positionBefore: '1', price }),
    );
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    await done('c1@lead1');
    const closes = await rows(
      "SELECT copier_id, qty, status, fill_price FROM copy_order WHERE signal_key='c1@lead1' ORDER BY copier_id",
    );
    assert.deepEqual(
      closes.map((c) => [c.copier_id, c.status, money(c.qty).toFixed()]),
      [
        ['dflt', 'FILLED', '0.5'],
        ['tight', 'FILLED', '0.5'],
        ['wide', 'FILLED', '2.5'],
      ],
    );
    for (const c of closes) assert.ok(money(c.fill_price).lt(money(price).times('0.9')), c.copier_id);
    for (const copier of ['wide', 'tight', 'dflt']) {
      assert.equal(await sliceQty(copier), '0', copier);
      assert.equal(await position(copier), '0', copier);
    }
    assert.deepEqual(await rows("SELECT 1 FROM copy_skip WHERE signal_key='c1@lead1'"), []);
  });
});
