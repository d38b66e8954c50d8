import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CopyOrder } from '../../src/copytrade/domain/copy-order.js';
import { unfilledSkip } from '../../src/copytrade/domain/unfilled.js';

const open: CopyOrder = {
  clientOrderId: 's1@t1:c1',
  signalId: 's1@t1',
  copierId: 'c1',
  traderId: 't1',
  instrument: 'BTC-USDT-SWAP',
  account: { type: 'main' },
  action: 'open',
  side: 'long',
  orderSide: 'buy',
  posSide: 'net',
  qty: '2',
  reduceOnly: false,
  leverage: 10,
  marginMode: 'cross',
  margin: '100.5',
  limitPrice: '50250',
};

describe('unfilledSkip: what the exchange did not fill, as a skip', () => {
  it('a cancel beyond the limit: not-filled-at-bound, with the code, the limit and the prices', () => {
    const skip = unfilledSkip(
      open,
      { qty: '0', remainingQty: '2', cancelReason: 'PRICE_BEYOND_LIMIT', price: '50510.1', canceled: true },
      '50000',
    );
    assert.deepEqual(skip, {
      signalId: 's1@t1',
      copierId: 'c1',
      traderId: 't1',
      instrument: 'BTC-USDT-SWAP',
      reason: 'not-filled-at-bound',
      detail: 'PRICE_BEYOND_LIMIT: buy 2 limit 50250, fill price 50510.1, lead 50000',
    });
  });

  it('a partial fill: the remainder, with the exchange code and what filled', () => {
    const skip = unfilledSkip(
      open,
      {
        qty: '0.5',
        remainingQty: '1.5',
        cancelReason: 'INSUFFICIENT_LIQUIDITY',
        price: '50010',
        canceled: false,
      },
      '50000',
    );
    assert.equal(skip?.reason, 'unfilled-remainder');
    assert.equal(
      skip?.detail,
      'INSUFFICIENT_LIQUIDITY: 0.5 of 2 filled at 50010, 1.5 canceled, limit 50250, lead 50000',
    );
  });

  it('a whole cancel for another reason is an unfilled remainder (all of it), named', () => {
    const skip = unfilledSkip(
      open,
      { qty: '0', remainingQty: '2', cancelReason: 'INSUFFICIENT_LIQUIDITY', price: '50010', canceled: true },
      null,
    );
    assert.equal(skip?.reason, 'unfilled-remainder');
    assert.match(skip?.detail ?? '', /^INSUFFICIENT_LIQUIDITY: buy 2 limit 50250, fill price 50010$/);
  });

  it('a full fill, or an answer that names no remainder: nothing', () => {
    const full = { qty: '2', remainingQty: '0', price: '50010', canceled: false };
    assert.equal(unfilledSkip(open, full, '50000'), null);
    assert.equal(unfilledSkip(open, { ...full, remainingQty: '0.00' }, '50000'), null);
    assert.equal(unfilledSkip(open, { ...full, remainingQty: undefined }, '50000'), null);
  });

  it('a close (no limit) partly filled says at market', () => {
    const close: CopyOrder = { ...open, action: 'close', orderSide: 'sell', reduceOnly: true, margin: '0' };
    delete close.limitPrice;
    const skip = unfilledSkip(
      close,
      {
        qty: '1',
        remainingQty: '1',
        cancelReason: 'INSUFFICIENT_LIQUIDITY',
        price: '49990',
        canceled: false,
      },
      '50000',
    );
    assert.match(skip?.detail ?? '', /1 canceled, at market, lead 50000$/);
  });
});
