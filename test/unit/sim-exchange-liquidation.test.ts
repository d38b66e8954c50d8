import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FilledOrder, OrderOutcome } from '../../src/clients/exchange-wire.js';
import { Money } from '../../src/domain/money.js';
import { Rejected } from '../../src/sim/errors.js';
import { ExchangeEngine } from '../../src/sim/exchange/engine.js';
import { fillEvents } from '../../src/sim/exchange/events.js';
import { parseAccount, parseAddMargin, parseLeverage, parseOrder } from '../../src/sim/exchange/requests.js';

const BTC = 'BTC-USDT-SWAP';

/** BTC at 60000, no slippage and no fee: the figures below are the formula's, by hand. */
function world() {
  const prices = { BTC: new Money('60000'), ETH: new Money('3000') };
  const engine = new ExchangeEngine({
    feeRate: '0',
    slippageBps: 0,
    price: (asset) => prices[asset],
    now: () => 1_764_000_000_000,
  });
  let seq = 0;
  const account = (id: string, usdt: string, positionMode?: 'one-way' | 'hedge') =>
    engine.createAccount(parseAccount({ account: id, balances: { USDT: usdt }, positionMode }));
  const isolated = (id: string) =>
    engine.setLeverage(
      parseLeverage({ account: id, instrument: BTC, leverage: 10, marginMode: 'isolated' }, () => 125),
    );
  const order = (o: Record<string, unknown>): FilledOrder => {
    const r: OrderOutcome = engine.place(parseOrder({ instrument: BTC, clientOrderId: `o${++seq}`, ...o }));
    assert.equal(r.status, 'filled', JSON.stringify(r));
    return r as FilledOrder;
  };
  const setPrice = (price: string) => {
    prices.BTC = new Money(price);
  };
  const position = (id: string) => engine.positions(id).positions[0];
  return { engine, account, isolated, order, setPrice, position };
}

function rejectedWith(code: string, f: () => unknown): void {
  assert.throws(f, (err: unknown) => err instanceof Rejected && err.code === code);
}

describe('sim exchange: liquidation price, liquidation, margin added', () => {
  it('isolated: the price at which the margin less the maintenance margin is lost', () => {
    const { account, isolated, order, position } = world();
    account('a', '10000');
    isolated('a');
    order({ account: 'a', side: 'buy', qty: '10' }); // long 0.1 BTC at 60000, margin 600
    // 60000 − (600 − 0.005 × 6000) / 0.1 = 60000 − 5700 = 54300
    assert.equal(position('a')?.liquidationPrice, '54300');
    account('s', '10000');
    isolated('s');
    order({ account: 's', side: 'sell', qty: '10' });
    assert.equal(position('s')?.liquidationPrice, '65700');
  });

  it('cross: the free balance backs the position too', () => {
    const { account, order, position } = world();
    account('c', '1000');
    order({ account: 'c', side: 'buy', qty: '10' }); // margin 600, free 400
    // 60000 − (600 + 400 − 30) / 0.1 = 50300
    assert.equal(position('c')?.liquidationPrice, '50300');
  });

  it('margin added to an isolated position moves its liquidation price away; a cross one is refused', () => {
    const { engine, account, isolated, order, position } = world();
    account('a', '10000');
    isolated('a');
    order({ account: 'a', side: 'buy', qty: '10' });
    const event = engine.addMargin(parseAddMargin({ account: 'a', instrument: BTC, amount: '100' }));
    // 60000 − (700 − 30) / 0.1 = 53300
    assert.deepEqual(event, {
      type: 'margin',
      account: 'a',
      instrument: BTC,
      side: 'long',
      added: '100',
      margin: '700',
      liquidationPrice: '53300',
      atMs: 1_764_000_000_000,
      eventId: 'm-1',
    });
    assert.equal(position('a')?.liquidationPrice, '53300');
    assert.equal(engine.positions('a').usedMargin, '700');
    rejectedWith('INSUFFICIENT_FUNDS', () =>
      engine.addMargin(parseAddMargin({ account: 'a', instrument: BTC, amount: '9300.00000001' })),
    );
    account('c', '1000');
    order({ account: 'c', side: 'buy', qty: '1' });
    rejectedWith('NOT_ISOLATED', () =>
      engine.addMargin(parseAddMargin({ account: 'c', instrument: BTC, amount: '1' })),
    );
    account('b', '10');
    rejectedWith('NO_POSITION', () =>
      engine.addMargin(parseAddMargin({ account: 'b', instrument: BTC, amount: '1' })),
    );
    assert.equal(engine.ledgerView().conserved, true);
  });

  it('a liquidation closes the whole position at the feed price, without fee, its fills marked; the ledger stays conserved', () => {
    const { engine, account, isolated, order, setPrice } = world();
    account('a', '10000');
    isolated('a');
    order({ account: 'a', side: 'buy', qty: '10' });
    setPrice('54300');
    const r = engine.liquidate({ account: 'a', instrument: BTC, side: undefined });
    assert.deepEqual(
      [r.clientOrderId, r.side, r.qty, r.price, r.fee, r.realisedPnl, r.liquidation],
      ['liq-1', 'sell', '10', '54300', '0', '-570', true],
    );
    const [event] = fillEvents(r);
    assert.deepEqual(
      [event?.action, event?.side, event?.qty, event?.positionBefore, event?.price, event?.liquidation],
      ['close', 'long', '10', '10', '54300', true],
    );
    const view = engine.positions('a');
    assert.deepEqual(view.positions, []);
    assert.deepEqual([view.balances.USDT, view.usedMargin], ['9430', '0']);
    const ledger = engine.ledgerView();
    assert.deepEqual(ledger.problems, []);
    assert.deepEqual([ledger.conserved, ledger.liquidations, ledger.duplicatedClientOrderIds], [true, 1, 0]);
    // nothing left to liquidate
    rejectedWith('NO_POSITION', () => engine.liquidate({ account: 'a', instrument: BTC, side: undefined }));
  });

  it('hedge mode: the side is required, and only that side is liquidated', () => {
    const { engine, account, order } = world();
    account('h', '10000', 'hedge');
    order({ account: 'h', side: 'buy', positionSide: 'long', qty: '1' });
    order({ account: 'h', side: 'sell', positionSide: 'short', qty: '2' });
    rejectedWith('INVALID_POSITION_SIDE', () =>
      engine.liquidate({ account: 'h', instrument: BTC, side: undefined }),
    );
    engine.liquidate({ account: 'h', instrument: BTC, side: 'short' });
    assert.deepEqual(
      engine.positions('h').positions.map((p) => [p.side, p.qty]),
      [['long', '1']],
    );
  });
});
