import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { carryAfter, planStep, STEPS } from '../../src/settlement/domain/flows.js';

const open = {
  orderId: 'o1',
  userId: 'u1',
  flow: 'open' as const,
  asset: 'BTC' as const,
  qty: '0.5',
  usdt: '900',
};
const close = { ...open, orderId: 'c1', flow: 'close' as const, usdt: '0' };

describe('flows', () => {
  it('open: counter swap, USDT to funding, buy the asset with it, the asset back to the house', () => {
    const s1 = planStep(open, 1, null);
    assert.deepEqual(s1, { kind: 'counterSwap', req: { key: 'o1:1', ...pick(open), flow: 'open' } });
    assert.equal(carryAfter(s1, {}), '900');
    const s2 = planStep(open, 2, '900');
    assert.deepEqual(s2.req, {
      key: 'o1:2',
      from: 'house:swap',
      to: 'house:funding',
      currency: 'USDT',
      amount: '900',
    });
    const s3 = planStep(open, 3, '900');
    assert.deepEqual(s3.req, {
      key: 'o1:3',
      account: 'house:funding',
      side: 'buy',
      asset: 'BTC',
      quoteAmount: '900',
    });
    assert.equal(carryAfter(s3, { baseQty: '0.01498', quoteQty: '900' }), '0.01498');
    const s4 = planStep(open, 4, '0.01498');
    assert.deepEqual(s4.req, {
      key: 'o1:4',
      from: 'house:funding',
      to: 'house:swap',
      currency: 'BTC',
      amount: '0.01498',
    });
  });

  it('close: the asset to funding, sell it, USDT to the house, the counter pays the user the proceeds', () => {
    const s1 = planStep(close, 1, null);
    assert.deepEqual(s1.req, {
      key: 'c1:1',
      from: 'house:swap',
      to: 'house:funding',
      currency: 'BTC',
      amount: '0.5',
    });
    const s2 = planStep(close, 2, carryAfter(s1, {}));
    assert.deepEqual(s2.req, {
      key: 'c1:2',
      account: 'house:funding',
      side: 'sell',
      asset: 'BTC',
      baseAmount: '0.5',
    });
    const proceeds = carryAfter(s2, { baseQty: '0.5', quoteQty: '29970' });
    assert.equal(proceeds, '29970');
    const s3 = planStep(close, 3, proceeds);
    assert.deepEqual(s3.req, {
      key: 'c1:3',
      from: 'house:funding',
      to: 'house:swap',
      currency: 'USDT',
      amount: '29970',
    });
    const s4 = planStep(close, 4, carryAfter(s3, {}));
    assert.equal(s4.kind, 'counterSwap');
    assert.equal(s4.kind === 'counterSwap' && s4.req.usdt, '29970');
  });

  it('every step has its own idempotency key', () => {
    const keys = STEPS.map((s) => planStep(open, s, '1').req.key);
    assert.deepEqual(keys, ['o1:1', 'o1:2', 'o1:3', 'o1:4']);
  });

  it('refuses to plan a step that spends a carry it does not have', () => {
    assert.throws(() => planStep(open, 3, null), /no carry from step 2/);
    assert.throws(() => planStep(close, 4, null), /no carry from step 3/);
  });
});

function pick(o: typeof open) {
  return { orderId: o.orderId, userId: o.userId, asset: o.asset, qty: o.qty, usdt: o.usdt };
}
