import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  CanceledOrder,
  FilledOrder,
  OrderOutcome,
  RejectedOrder,
} from '../../src/clients/exchange-wire.js';
import { Money } from '../../src/domain/money.js';
import { InvalidRequest } from '../../src/sim/errors.js';
import { ExchangeEngine } from '../../src/sim/exchange/engine.js';
import { parseUnits, type Units } from '../../src/sim/exchange/fixed.js';
import { fillableQty, splitFill, withinLimit } from '../../src/sim/exchange/limits.js';
import { PriceMoves } from '../../src/sim/exchange/price-moves.js';
import { parseAccount, parseOrder, parsePriceMove, parseQtyCap } from '../../src/sim/exchange/requests.js';

/**
 * IOC limit orders and partial fills of the simulated exchange, without HTTP: the parsing of
 * the new fields, the pure fill decision, and the engine's outcomes (filled, partially filled,
 * canceled) with the ledger conserved.
 */

const BTC = 'BTC-USDT-SWAP';
const u = (text: string): Units => {
  const v = parseUnits(text);
  if (v === undefined) throw new Error(text);
  return v;
};
const invalid = (message: RegExp) => (e: unknown) => e instanceof InvalidRequest && message.test(e.message);
const base = { account: 'a', clientOrderId: 'c1', instrument: BTC, side: 'buy', qty: '1' };

describe('parseOrder: type, price, timeInForce', () => {
  it('a market order by default, with no limit', () => {
    const r = parseOrder(base);
    assert.equal(r.type, 'market');
    assert.equal(r.limit, undefined);
    assert.equal(parseOrder({ ...base, type: 'market' }).type, 'market');
  });

  it('a limit order with its price on the tick and IOC', () => {
    const r = parseOrder({ ...base, type: 'limit', price: '60012.50', timeInForce: 'IOC' });
    assert.equal(r.type, 'limit');
    assert.deepEqual(r.limit, { price: u('60012.5'), priceText: '60012.5', timeInForce: 'IOC' });
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['an unknown type', { type: 'stop' }, /^type: expected one of market, limit/],
    ['a type that is not a string', { type: 1 }, /^type: /],
    [
      'a limit without price',
      { type: 'limit', timeInForce: 'IOC' },
      /^price: a limit order needs a positive/,
    ],
    ['a price that is a number', { type: 'limit', price: 60000, timeInForce: 'IOC' }, /^price: /],
    ['a zero price', { type: 'limit', price: '0', timeInForce: 'IOC' }, /^price: .*positive/],
    ['a negative price', { type: 'limit', price: '-1', timeInForce: 'IOC' }, /^price: .*positive/],
    [
      'a price off the tick',
      { type: 'limit', price: '60000.05', timeInForce: 'IOC' },
      /^price: 60000.05 is not on the tick 0.1 of BTC-USDT-SWAP/,
    ],
    ['a price finer than 8 places', { type: 'limit', price: '1.000000001', timeInForce: 'IOC' }, /^price: /],
    [
      'a limit without timeInForce',
      { type: 'limit', price: '60000' },
      /^timeInForce: a limit order needs IOC/,
    ],
    ['GTC', { type: 'limit', price: '60000', timeInForce: 'GTC' }, /^timeInForce: .*IOC.*got "GTC"/],
    ['a market order with a price', { price: '60000' }, /^price: only a limit order/],
    ['a market order with a timeInForce', { timeInForce: 'IOC' }, /^timeInForce: only a limit order/],
  ];
  for (const [what, over, message] of bad) {
    it(`refuses ${what}`, () => assert.throws(() => parseOrder({ ...base, ...over }), invalid(message)));
  }
});

describe('parseQtyCap', () => {
  it('a positive multiple of the step, or null for unlimited', () => {
    assert.deepEqual(parseQtyCap({ instrument: BTC, maxQty: '0.5' }), {
      instrument: BTC,
      maxQty: u('0.5'),
    });
    assert.deepEqual(parseQtyCap({ instrument: BTC, maxQty: null }), {
      instrument: BTC,
      maxQty: undefined,
    });
  });
  for (const maxQty of ['0', '-1', '0.005', 5, undefined]) {
    it(`refuses maxQty ${String(maxQty)}`, () =>
      assert.throws(() => parseQtyCap({ instrument: BTC, maxQty }), invalid(/^maxQty: /)));
  }
  it('refuses an unknown instrument', () =>
    assert.throws(() => parseQtyCap({ instrument: 'X', maxQty: '1' }), invalid(/^instrument: /)));
});

describe('price moves armed for the next order', () => {
  it('fire once, for the account named or any, the latest arming of a pair winning', () => {
    const moves = new PriceMoves();
    const move = (price: string, account?: string) => parsePriceMove({ instrument: BTC, price, account });
    assert.equal(moves.take(BTC, 'a'), undefined);
    moves.arm(move('61000', 'b'));
    moves.arm(move('62000', 'b'));
    moves.arm(move('63000'));
    assert.equal(moves.take('ETH-USDT-SWAP', 'b'), undefined);
    assert.equal(moves.take(BTC, 'b')?.price.toFixed(), '62000');
    assert.equal(moves.take(BTC, 'b')?.price.toFixed(), '63000', 'the any-account move');
    assert.equal(moves.take(BTC, 'b'), undefined);
    assert.equal(moves.armed.length, 0);
  });

  it('parse: instrument, a price to the cent, an optional account and hold', () => {
    const m = parsePriceMove({ instrument: BTC, price: '60100.5', account: 'c', hold: true });
    assert.deepEqual([m.instrument, m.price.toFixed(), m.account, m.hold], [BTC, '60100.5', 'c', true]);
    assert.throws(() => parsePriceMove({ instrument: BTC, price: '1.001' }), invalid(/^price: /));
    assert.throws(() => parsePriceMove({ instrument: BTC, price: '0' }), invalid(/^price: /));
    assert.throws(() => parsePriceMove({ instrument: BTC, price: '1', hold: 1 }), invalid(/^hold: /));
    assert.throws(() => parsePriceMove({ instrument: BTC, price: '1', account: '' }), invalid(/^account: /));
  });
});

describe('the fill decision', () => {
  it('a buy fills at or below its limit, a sell at or above; a market order always', () => {
    assert.equal(withinLimit('buy', u('100'), u('100')), true);
    assert.equal(withinLimit('buy', u('99.9'), u('100')), true);
    assert.equal(withinLimit('buy', u('100.1'), u('100')), false);
    assert.equal(withinLimit('sell', u('100'), u('100')), true);
    assert.equal(withinLimit('sell', u('100.1'), u('100')), true);
    assert.equal(withinLimit('sell', u('99.9'), u('100')), false);
    assert.equal(withinLimit('buy', u('1000000'), undefined), true);
    assert.equal(withinLimit('sell', u('0.1'), undefined), true);
  });

  it('fills what the liquidity allows', () => {
    assert.equal(fillableQty(u('5'), undefined), u('5'));
    assert.equal(fillableQty(u('5'), u('5')), u('5'));
    assert.equal(fillableQty(u('5'), u('2')), u('2'));
    assert.equal(fillableQty(u('1'), u('2')), u('1'));
  });

  it('a cut fill closes before it opens', () => {
    assert.deepEqual(splitFill(u('2'), u('3'), u('5')), { close: u('2'), open: u('3') });
    assert.deepEqual(splitFill(u('2'), u('3'), u('3')), { close: u('2'), open: u('1') });
    assert.deepEqual(splitFill(u('2'), u('3'), u('1')), { close: u('1'), open: 0n });
    assert.deepEqual(splitFill(0n, u('3'), u('1')), { close: 0n, open: u('1') });
  });
});

/** BTC at 60000, 2 bps slippage: a buy fills at 60012, a sell at 59988. */
function world() {
  const prices = { BTC: new Money('60000'), ETH: new Money('3000') };
  const engine = new ExchangeEngine({
    feeRate: '0.0005',
    slippageBps: 2,
    price: (asset) => prices[asset],
    now: () => 1_764_000_000_000,
  });
  engine.createAccount(parseAccount({ account: 'a', balances: { USDT: '100000' } }));
  const order = (o: Record<string, unknown>): OrderOutcome => engine.place(parseOrder({ ...base, ...o }));
  const limit = (id: string, side: 'buy' | 'sell', price: string, qty = '1') =>
    order({ clientOrderId: id, side, qty, type: 'limit', price, timeInForce: 'IOC' });
  return { engine, order, limit, prices };
}

function filled(r: OrderOutcome): FilledOrder {
  assert.equal(r.status, 'filled', JSON.stringify(r));
  return r as FilledOrder;
}
function canceled(r: OrderOutcome): CanceledOrder {
  assert.equal(r.status, 'canceled', JSON.stringify(r));
  return r as CanceledOrder;
}

describe('engine: IOC limit orders', () => {
  it('fills at and inside the limit, at the current fill price', () => {
    const { limit } = world();
    const at = filled(limit('b1', 'buy', '60012'));
    assert.deepEqual(
      [at.price, at.qty, at.orderStatus, at.remainingQty, at.type, at.limitPrice, at.timeInForce],
      ['60012', '1', 'FILLED', '0', 'limit', '60012', 'IOC'],
    );
    assert.equal(filled(limit('b2', 'buy', '60100')).price, '60012');
    assert.equal(filled(limit('s1', 'sell', '59988')).price, '59988');
    assert.equal(filled(limit('s2', 'sell', '59000')).price, '59988');
  });

  it('one tick beyond the limit: canceled, no position, no fee, nothing in the ledger', () => {
    const { engine, limit } = world();
    const before = engine.ledgerView();
    const buy = canceled(limit('b1', 'buy', '60011.9'));
    assert.deepEqual(
      {
        orderStatus: buy.orderStatus,
        cancelReason: buy.cancelReason,
        qty: buy.qty,
        remainingQty: buy.remainingQty,
        marketPrice: buy.marketPrice,
        limitPrice: buy.limitPrice,
      },
      {
        orderStatus: 'CANCELED',
        cancelReason: 'PRICE_BEYOND_LIMIT',
        qty: '0',
        remainingQty: '1',
        marketPrice: '60012',
        limitPrice: '60011.9',
      },
    );
    assert.equal(canceled(limit('s1', 'sell', '59988.1')).cancelReason, 'PRICE_BEYOND_LIMIT');
    const after = engine.ledgerView();
    assert.equal(after.journalEntries, before.journalEntries);
    assert.equal(after.ordersApplied, 0);
    assert.equal(after.canceled, 2);
    assert.equal(after.conserved, true);
    const view = engine.positions('a');
    assert.deepEqual([view.positions, view.fees, view.balances.USDT], [[], '0', '100000']);
    assert.equal(engine.lookup('a', 'b1'), undefined, 'nothing of it filled');
  });

  it('a repeat answers the stored cancel, even once the price came within the limit; another limit conflicts', () => {
    const { engine, limit, prices } = world();
    const first = canceled(limit('b1', 'buy', '60000'));
    prices.BTC = new Money('59000');
    assert.equal(filled(limit('b2', 'buy', '60000')).price, '59011.8');
    const again = canceled(limit('b1', 'buy', '60000'));
    assert.deepEqual(again, { ...first, replay: true });
    const conflict = limit('b1', 'buy', '60100') as RejectedOrder;
    assert.deepEqual([conflict.status, conflict.code], ['rejected', 'IDEMPOTENCY_CONFLICT']);
    const market = engine.place(parseOrder({ ...base, clientOrderId: 'b1' })) as RejectedOrder;
    assert.equal(market.code, 'IDEMPOTENCY_CONFLICT');
    assert.equal(engine.positions('a').positions[0]?.qty, '1', 'only b2 filled');
  });
});

describe('engine: partial fills', () => {
  it('a market order beyond the liquidity fills what is available; fee and margin on that part only', () => {
    const { engine, order } = world();
    engine.setLiquidity(BTC, u('0.3'));
    const r = filled(order({ clientOrderId: 'm1', qty: '1' }));
    assert.deepEqual(
      [r.requestedQty, r.qty, r.remainingQty, r.orderStatus, r.cancelReason],
      ['1', '0.3', '0.7', 'PARTIALLY_FILLED', 'INSUFFICIENT_LIQUIDITY'],
    );
    // 0.3 contracts × 0.01 BTC × 60012 = 180.036 notional: fee 0.090018, margin 18.0036 at 10×
    assert.equal(r.fee, '0.090018');
    const view = engine.positions('a');
    assert.deepEqual([view.positions[0]?.qty, view.usedMargin], ['0.3', '18.0036']);
    assert.equal(engine.ledgerView().conserved, true);
    assert.deepEqual(filled(order({ clientOrderId: 'm1', qty: '1' })), { ...r, replay: true });
  });

  it('an IOC limit within its limit is cut the same; a one-way flip closes first', () => {
    const { engine, order, limit } = world();
    filled(order({ clientOrderId: 'open', qty: '0.5' }));
    engine.setLiquidity(BTC, u('0.7'));
    const r = filled(limit('flip', 'sell', '59000', '2'));
    assert.deepEqual(
      r.legs.map((l) => [l.side, l.action, l.qty]),
      [
        ['long', 'close', '0.5'],
        ['short', 'open', '0.2'],
      ],
    );
    assert.deepEqual([r.qty, r.remainingQty, r.orderStatus], ['0.7', '1.3', 'PARTIALLY_FILLED']);
    engine.setLiquidity(BTC, undefined);
    assert.equal(filled(limit('more', 'sell', '59000', '2')).orderStatus, 'FILLED');
    assert.equal(engine.ledgerView().conserved, true);
  });
});
