import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type CanceledOrder,
  createExchangeClient,
  type ExchangeClient,
  type FillEvent,
  type FilledOrder,
  type FillSubscription,
  type LimitOrderRequest,
  type OrderOutcome,
  type RejectedOrder,
  subscribeFills,
} from '../../src/clients/exchange.js';
import type { SimAdmin } from '../../src/clients/sim-admin.js';
import { TestWorld, waitFor } from '../support/harness.js';

/**
 * Entry protection on the exchange of `tradeflow sim`, over HTTP: IOC limit orders at, inside
 * and beyond their limit, a price that moves between sizing and fill, partial fills by the
 * liquidity control with the rest canceled, repeats by client order id, and the field-named
 * errors of bad orders. BTC is held at 60000 (2 bps slippage): a buy fills at 60012, a sell
 * at 59988.
 */

const BTC = 'BTC-USDT-SWAP' as const;

let world: TestWorld;
let admin: SimAdmin;
let url: string;
let exchange: ExchangeClient;
let events: FillSubscription;
const fills: FillEvent[] = [];

const limit = (
  account: string,
  clientOrderId: string,
  side: 'buy' | 'sell',
  price: string,
  qty = '1',
): LimitOrderRequest => ({
  account,
  clientOrderId,
  instrument: BTC,
  side,
  qty,
  type: 'limit',
  price,
  timeInForce: 'IOC',
});

function filled(r: OrderOutcome): FilledOrder {
  assert.equal(r.status, 'filled', JSON.stringify(r));
  return r as FilledOrder;
}
function canceled(r: OrderOutcome): CanceledOrder {
  assert.equal(r.status, 'canceled', JSON.stringify(r));
  return r as CanceledOrder;
}

async function raw(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.status, json: await res.json() };
}

before(async () => {
  world = await new TestWorld().setUp();
  admin = await world.startSim();
  url = world.config.counterUrl;
  exchange = createExchangeClient(url, { timeoutMs: 5000 });
  events = await subscribeFills(url, { onFill: (e) => fills.push(e) });
  await admin.setPrice('BTC', '60000', { hold: true });
  for (const account of ['ioc-a', 'ioc-b', 'ioc-c', 'ioc-d']) {
    await exchange.createAccount({ account, balances: { USDT: '100000' } });
  }
});

after(async () => {
  await events?.close();
  await exchange?.close();
  await world?.tearDown();
});

describe('exchange simulator: IOC limit orders over HTTP', () => {
  it('a buy fills at and inside its limit, a sell too, at the current fill price', async () => {
    const at = filled(await exchange.placeOrder(limit('ioc-a', 'b-at', 'buy', '60012')));
    assert.deepEqual(
      [at.price, at.qty, at.orderStatus, at.remainingQty, at.type, at.limitPrice, at.timeInForce],
      ['60012', '1', 'FILLED', '0', 'limit', '60012', 'IOC'],
    );
    assert.equal(filled(await exchange.placeOrder(limit('ioc-a', 'b-in', 'buy', '61000'))).price, '60012');
    assert.equal(filled(await exchange.placeOrder(limit('ioc-a', 's-at', 'sell', '59988'))).price, '59988');
    assert.equal(filled(await exchange.placeOrder(limit('ioc-a', 's-in', 'sell', '59000'))).price, '59988');
    const view = await exchange.positions('ioc-a');
    assert.deepEqual(view.positions, [], 'two buys and two sells of 1: flat');
  });

  it('one tick beyond the limit: canceled with its reason, no position, no fee, nothing in the ledger, no fill event', async () => {
    const before = await exchange.ledger();
    const account = await exchange.positions('ioc-b');
    const fillsBefore = fills.length;

    const buy = await raw('POST', '/exchange/order', limit('ioc-b', 'b-beyond', 'buy', '60011.9'));
    assert.equal(buy.status, 200, JSON.stringify(buy.json));
    const b = canceled(buy.json as OrderOutcome);
    assert.deepEqual(
      [b.orderStatus, b.cancelReason, b.qty, b.remainingQty, b.marketPrice, b.limitPrice, b.replay],
      ['CANCELED', 'PRICE_BEYOND_LIMIT', '0', '1', '60012', '60011.9', false],
    );
    const sell = canceled(await exchange.placeOrder(limit('ioc-b', 's-beyond', 'sell', '59988.1')));
    assert.deepEqual([sell.cancelReason, sell.marketPrice], ['PRICE_BEYOND_LIMIT', '59988']);

    const after = await exchange.ledger();
    assert.equal(after.journalEntries, before.journalEntries);
    assert.equal(after.ordersApplied, before.ordersApplied);
    assert.equal(after.canceled, before.canceled + 2);
    assert.equal(after.conserved, true);
    const now = await exchange.positions('ioc-b');
    assert.deepEqual(
      [now.positions, now.fees, now.balances.USDT, now.usedMargin],
      [account.positions, account.fees, account.balances.USDT, account.usedMargin],
    );
    // what filled is published at once; give a stray event of the cancels a moment to show
    await exchange.placeOrder({
      account: 'ioc-b',
      clientOrderId: 'marker',
      instrument: BTC,
      side: 'buy',
      qty: '0.01',
    });
    await waitFor('the marker fill', async () => fills.some((f) => f.clientOrderId === 'marker'));
    assert.deepEqual(
      fills.slice(fillsBefore).map((f) => f.clientOrderId),
      ['marker'],
    );
    // nothing of a cancel filled: the lookup says so, and a repeat answers the cancel
    assert.deepEqual(
      await exchange
        .lookupOrders([
          { account: 'ioc-b', clientOrderId: 'b-beyond' },
          { account: 'ioc-b', clientOrderId: 'marker' },
        ])
        .then((r) => r.map((x) => x?.clientOrderId ?? null)),
      [null, 'marker'],
    );
  });

  it('a price moved between sizing and fill: the second IOC at the sized bound cancels', async () => {
    const quote = await exchange.price(BTC);
    assert.equal(quote.buyPrice, '60012');
    const first = filled(await exchange.placeOrder(limit('ioc-c', 'move-1', 'buy', quote.buyPrice, '0.5')));
    assert.equal(first.price, '60012');
    await admin.setPrice('BTC', '60100', { hold: true });
    try {
      const second = canceled(
        await exchange.placeOrder(limit('ioc-c', 'move-2', 'buy', quote.buyPrice, '0.5')),
      );
      // 60100 × 1.0002 = 60112.02, onto the tick against the buyer
      assert.deepEqual([second.cancelReason, second.marketPrice], ['PRICE_BEYOND_LIMIT', '60112.1']);
      const view = await exchange.positions('ioc-c');
      assert.deepEqual(
        view.positions.map((p) => [p.side, p.qty, p.avgEntryPrice]),
        [['long', '0.5', '60012']],
      );
      // a repeat after the price came back answers the cancel, it does not fill now
      await admin.setPrice('BTC', '60000', { hold: true });
      const again = canceled(
        await exchange.placeOrder(limit('ioc-c', 'move-2', 'buy', quote.buyPrice, '0.5')),
      );
      assert.deepEqual(again, { ...second, replay: true });
      // the same id with another limit is another order: refused
      const conflict = await raw('POST', '/exchange/order', limit('ioc-c', 'move-2', 'buy', '60200', '0.5'));
      assert.deepEqual(
        [conflict.status, (conflict.json as { code: string }).code],
        [409, 'IDEMPOTENCY_CONFLICT'],
      );
    } finally {
      await admin.setPrice('BTC', '60000', { hold: true });
    }
  });

  it('a price move armed for the next order of one account fires there, once, between sizing and fill', async () => {
    const quote = await exchange.price(BTC);
    const armed = await admin.movePriceAtNextOrder(BTC, '60100', { account: 'ioc-c', hold: true });
    assert.deepEqual(armed, { instrument: BTC, price: '60100', account: 'ioc-c', hold: true });
    try {
      // another account's order does not fire it
      const other = filled(
        await exchange.placeOrder(limit('ioc-a', 'arm-other', 'buy', quote.buyPrice, '0.1')),
      );
      assert.equal(other.price, '60012');
      const c = canceled(await exchange.placeOrder(limit('ioc-c', 'arm-1', 'buy', quote.buyPrice, '0.1')));
      assert.deepEqual([c.cancelReason, c.marketPrice], ['PRICE_BEYOND_LIMIT', '60112.1']);
      // fired once: the price stays where it moved, nothing is armed any more
      assert.equal((await exchange.price(BTC)).price, '60100');
      const left = await raw('GET', '/admin/price-move');
      assert.deepEqual(left.json, { armed: [] });
      const bad = await raw('POST', '/admin/price-move', { instrument: BTC, price: '60100.123' });
      assert.equal(bad.status, 400);
      assert.match((bad.json as { message: string }).message, /^price: /);
    } finally {
      await admin.setPrice('BTC', '60000', { hold: true });
    }
  });

  it('partial fills: the liquidity cuts market and IOC orders, the rest canceled, the ledger conserved', async () => {
    const set = await admin.setLiquidity(BTC, '0.3');
    assert.deepEqual(set, { instrument: BTC, maxQty: '0.3' });
    assert.deepEqual(await admin.liquidity(), [
      { instrument: BTC, maxQty: '0.3' },
      { instrument: 'ETH-USDT-SWAP', maxQty: null },
    ]);
    try {
      const wallet = (await exchange.positions('ioc-d')).balances.USDT;
      const market = await exchange.placeOrder({
        account: 'ioc-d',
        clientOrderId: 'part-m',
        instrument: BTC,
        side: 'buy',
        qty: '1',
      });
      assert.deepEqual(
        [market.requestedQty, market.qty, market.remainingQty, market.orderStatus, market.cancelReason],
        ['1', '0.3', '0.7', 'PARTIALLY_FILLED', 'INSUFFICIENT_LIQUIDITY'],
      );
      // 0.3 × 0.01 × 60012 = 180.036 notional: fee 0.090018; margin 18.0036 at 10×
      assert.equal(market.fee, '0.090018');
      const batch = await exchange.placeOrders([
        limit('ioc-d', 'part-l', 'buy', '60012', '0.5'),
        limit('ioc-d', 'part-x', 'buy', '60000', '0.5'),
        { account: 'ioc-d', clientOrderId: 'part-s', instrument: BTC, side: 'buy', qty: '0.2' },
      ]);
      const l = filled(batch[0] as OrderOutcome);
      assert.deepEqual([l.qty, l.remainingQty, l.orderStatus], ['0.3', '0.2', 'PARTIALLY_FILLED']);
      assert.equal(canceled(batch[1] as OrderOutcome).cancelReason, 'PRICE_BEYOND_LIMIT');
      const small = filled(batch[2] as OrderOutcome);
      assert.deepEqual([small.qty, small.remainingQty, small.orderStatus], ['0.2', '0', 'FILLED']);

      const view = await exchange.positions('ioc-d');
      assert.deepEqual([view.positions[0]?.qty, view.usedMargin, view.fees], ['0.8', '48.0096', '0.240048']);
      assert.equal(view.balances.USDT, (Number(wallet) - 0.240048).toFixed(6));
      const ledger = await exchange.ledger();
      assert.deepEqual([ledger.conserved, ledger.problems, ledger.duplicatedClientOrderIds], [true, [], 0]);

      // repeats answer the first results, changing nothing
      const again = await exchange.placeOrders([
        limit('ioc-d', 'part-l', 'buy', '60012', '0.5'),
        limit('ioc-d', 'part-x', 'buy', '60000', '0.5'),
      ]);
      assert.deepEqual(again, [
        { ...batch[0], replay: true },
        { ...batch[1], replay: true },
      ]);
      assert.deepEqual(
        await exchange.placeOrder({
          account: 'ioc-d',
          clientOrderId: 'part-m',
          instrument: BTC,
          side: 'buy',
          qty: '1',
        }),
        {
          ...market,
          replay: true,
        },
      );
      assert.equal((await exchange.positions('ioc-d')).positions[0]?.qty, '0.8');
      assert.deepEqual(
        (await exchange.lookupOrders([{ account: 'ioc-d', clientOrderId: 'part-l' }]))[0],
        batch[0],
      );
    } finally {
      await admin.setLiquidity(BTC, null);
    }
    const full = await exchange.placeOrder({
      account: 'ioc-d',
      clientOrderId: 'full',
      instrument: BTC,
      side: 'sell',
      qty: '0.8',
    });
    assert.deepEqual([full.qty, full.orderStatus], ['0.8', 'FILLED']);
  });

  it('an order over the per-order maximum is refused whole (QTY_ABOVE_MAX), never split or partly filled', async () => {
    const order = (clientOrderId: string, qty: string) => ({
      account: 'ioc-d',
      clientOrderId,
      instrument: BTC,
      side: 'buy',
      qty,
    });
    // the instrument's own maximum, before margin is looked at
    const huge = await raw('POST', '/exchange/order', order('max-huge', '10000.01'));
    assert.equal((huge.json as RejectedOrder).code, 'QTY_ABOVE_MAX', JSON.stringify(huge.json));
    assert.match((huge.json as RejectedOrder).message, /above the per-order maximum 10000/);
    assert.deepEqual(await admin.setMaxOrderQty(BTC, '2'), { instrument: BTC, maxQty: '2' });
    // published as the instrument's rule, where a client reads it
    const maxOf = async () => (await exchange.instruments()).find((i) => i.instrument === BTC)?.maxQty;
    assert.equal(await maxOf(), '2');
    assert.equal(filled(await exchange.placeOrder(order('max-at', '2') as never)).qty, '2');
    const batch = await raw('POST', '/exchange/orders', {
      orders: [order('max-over', '2.01'), order('max-in', '1')],
    });
    const [over, within] = (batch.json as { results: (RejectedOrder | FilledOrder)[] }).results;
    assert.deepEqual([over?.status, (over as RejectedOrder).code], ['rejected', 'QTY_ABOVE_MAX']);
    assert.deepEqual([within?.status, (within as FilledOrder).qty], ['filled', '1']);
    const view = await exchange.positions('ioc-d');
    assert.deepEqual(
      view.positions.map((p) => [p.side, p.qty]),
      [['long', '3']],
      'the refused order left no trace',
    );
    assert.deepEqual(await admin.setMaxOrderQty(BTC, null), { instrument: BTC, maxQty: '10000' });
    assert.equal(await maxOf(), '10000');
    assert.equal(filled(await exchange.placeOrder(order('max-back', '2.01') as never)).qty, '2.01');
  });

  it('bad type, price, timeInForce and liquidity get field-named 400 errors', async () => {
    const base = { account: 'ioc-a', clientOrderId: 'bad', instrument: BTC, side: 'buy', qty: '1' };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ type: 'stop' }, /^type: expected one of market, limit/],
      [{ type: 'limit', timeInForce: 'IOC' }, /^price: /],
      [{ type: 'limit', price: '0', timeInForce: 'IOC' }, /^price: /],
      [{ type: 'limit', price: '60000.05', timeInForce: 'IOC' }, /^price: 60000.05 is not on the tick 0.1/],
      [{ type: 'limit', price: '60000' }, /^timeInForce: /],
      [{ type: 'limit', price: '60000', timeInForce: 'GTC' }, /^timeInForce: .*got "GTC"/],
      [{ price: '60000' }, /^price: only a limit order/],
    ];
    for (const [over, message] of cases) {
      const r = await raw('POST', '/exchange/order', { ...base, ...over });
      const body = r.json as { code: string; message: string };
      assert.equal(r.status, 400, JSON.stringify(over));
      assert.equal(body.code, 'INVALID_REQUEST');
      assert.match(body.message, message);
    }
    // in a batch, the bad order is rejected alone with the same message
    const batch = await raw('POST', '/exchange/orders', {
      orders: [{ ...base, type: 'limit', price: '60000', timeInForce: 'GTC' }],
    });
    assert.equal(batch.status, 200);
    const [r] = (batch.json as { results: RejectedOrder[] }).results;
    assert.deepEqual([r?.status, r?.code], ['rejected', 'INVALID_REQUEST']);
    assert.match(r?.message ?? '', /^timeInForce: /);

    for (const body of [
      { instrument: BTC, maxQty: '0' },
      { instrument: BTC, maxQty: '0.005' },
      { instrument: BTC },
    ]) {
      const l = await raw('POST', '/admin/liquidity', body);
      assert.equal(l.status, 400);
      assert.match((l.json as { message: string }).message, /^maxQty: /);
    }
    assert.equal((await exchange.ledger()).conserved, true);
  });
});
