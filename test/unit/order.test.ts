import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CounterRow, decideCounterRow, SWAP_BIZ_TYPE } from '../../src/settlement/domain/order.js';

const good: CounterRow = {
  id: 7,
  order_id: 'o-1',
  shard: '3',
  user_id: 'u42',
  biz_type: SWAP_BIZ_TYPE,
  flow: 'OPEN',
  asset: 'BTC',
  qty: '0.500000000000000000',
  usdt: '900.000000000000000000',
  created_ms: '1764000000000',
};

describe('decideCounterRow', () => {
  it('turns a swap row into an order with normalised decimals', () => {
    const d = decideCounterRow(good, 16);
    assert.deepEqual(d, {
      kind: 'order',
      order: {
        orderId: 'o-1',
        shard: 3,
        userId: 'u42',
        flow: 'open',
        asset: 'BTC',
        qty: '0.5',
        usdt: '900',
        counterCreatedMs: 1764000000000,
      },
    });
  });

  it('takes a close without USDT', () => {
    const d = decideCounterRow({ ...good, flow: 'CLOSE', usdt: null }, 16);
    assert.equal(d.kind, 'order');
    assert.equal(d.kind === 'order' && d.order.usdt, '0');
  });

  it('ignores rows of other business types', () => {
    const d = decideCounterRow({ ...good, biz_type: 'SPOT_TRADE' }, 16);
    assert.equal(d.kind, 'ignored');
  });

  const bad: [string, CounterRow, RegExp][] = [
    ['unknown asset', { ...good, asset: 'XRP' }, /asset/],
    ['unknown flow', { ...good, flow: 'SIDEWAYS' }, /flow/],
    ['missing qty', { ...good, qty: null }, /qty is missing/],
    ['zero qty', { ...good, qty: '0' }, /qty must be positive/],
    ['negative usdt', { ...good, usdt: '-5' }, /usdt must be positive/],
    ['text amount', { ...good, qty: 'abc' }, /qty is not a decimal/],
    ['shard out of range', { ...good, shard: '16' }, /shard/],
    ['missing user', { ...good, user_id: null }, /user_id/],
    ['bad time', { ...good, created_ms: 'yesterday' }, /created_ms/],
  ];
  for (const [name, row, reason] of bad) {
    it(`rejects a row with ${name}, naming the reason`, () => {
      const d = decideCounterRow(row, 16);
      assert.equal(d.kind, 'rejected');
      assert.match(d.kind === 'rejected' ? d.reason : '', reason);
      assert.equal(d.kind === 'rejected' && d.orderId, 'o-1');
    });
  }

  it('rejects a row without a usable order id', () => {
    const d = decideCounterRow({ ...good, order_id: 'has space' }, 16);
    assert.deepEqual(d.kind === 'rejected' && d.orderId, null);
  });
});
