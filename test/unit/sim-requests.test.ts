import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOrdersQuery } from '../../src/sim/counter-orders.js';
import { InvalidRequest } from '../../src/sim/errors.js';
import { IdempotencyStore } from '../../src/sim/idempotency.js';
import { fingerprint, parseSwap, parseTrade, parseTransfer } from '../../src/sim/requests.js';

const swap = { key: 'o:1', orderId: 'o', userId: 'u', flow: 'open', asset: 'BTC', qty: '0.5', usdt: '900' };
const invalid = (message: RegExp) => (e: unknown) => e instanceof InvalidRequest && message.test(e.message);

describe('sim requests', () => {
  it('parses a swap with Money amounts cut to 8 places', () => {
    const r = parseSwap({ ...swap, qty: '0.123456789999' });
    assert.equal(r.qty.toFixed(), '0.12345678');
    assert.equal(r.usdt.toFixed(), '900');
    assert.equal(r.flow, 'open');
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['missing key', { ...swap, key: undefined }, /^key: expected a non-empty string/],
    ['empty userId', { ...swap, userId: '' }, /^userId: /],
    ['unknown flow', { ...swap, flow: 'hold' }, /^flow: expected one of open, close/],
    ['unknown asset', { ...swap, asset: 'DOGE' }, /^asset: expected one of BTC, ETH/],
    ['number qty', { ...swap, qty: 0.5 }, /^qty: expected a decimal string/],
    ['zero qty', { ...swap, qty: '0' }, /^qty: expected a positive amount/],
    ['dust qty', { ...swap, qty: '0.000000001' }, /^qty: expected a positive amount/],
    ['negative usdt', { ...swap, usdt: '-1' }, /^usdt: expected a non-negative amount/],
    ['exponent', { ...swap, usdt: '1e3' }, /^usdt: expected a decimal string/],
  ];
  for (const [what, body, message] of bad) {
    it(`refuses a swap with ${what}`, () => assert.throws(() => parseSwap(body), invalid(message)));
  }

  it('refuses a body that is not an object', () => {
    assert.throws(() => parseSwap([1]), invalid(/^body: expected a JSON object/));
    assert.throws(() => parseSwap(null), invalid(/^body: /));
  });

  it('refuses a transfer to the account it comes from, or from a user', () => {
    const t = { key: 't', from: 'house:swap', to: 'house:funding', currency: 'USDT', amount: '5' };
    assert.equal(parseTransfer(t).amount.toFixed(), '5');
    assert.throws(() => parseTransfer({ ...t, to: 'house:swap' }), invalid(/^to: must differ from from/));
    assert.throws(
      () => parseTransfer({ ...t, from: 'user:u' }),
      invalid(/^from: expected one of house:swap, house:funding/),
    );
    assert.throws(() => parseTransfer({ ...t, currency: 'EUR' }), invalid(/^currency: /));
  });

  it('asks a buy for quoteAmount and a sell for baseAmount, never both', () => {
    const buy = { key: 'b', account: 'house:funding', side: 'buy', asset: 'ETH', quoteAmount: '100' };
    assert.equal(parseTrade(buy).side, 'buy');
    assert.throws(
      () => parseTrade({ ...buy, baseAmount: '1' }),
      invalid(/^baseAmount: not allowed for a buy/),
    );
    assert.throws(() => parseTrade({ ...buy, quoteAmount: undefined }), invalid(/^quoteAmount: /));
    const sell = { key: 's', account: 'house:funding', side: 'sell', asset: 'ETH', baseAmount: '1' };
    assert.equal(parseTrade(sell).side, 'sell');
    assert.throws(
      () => parseTrade({ ...sell, quoteAmount: '1' }),
      invalid(/^quoteAmount: not allowed for a sell/),
    );
    assert.throws(() => parseTrade({ ...sell, side: 'short' }), invalid(/^side: /));
  });

  it('fingerprints equal requests equally, whatever the field order or zero padding', () => {
    const a = fingerprint('counter/swap', parseSwap(swap));
    const b = fingerprint('counter/swap', parseSwap({ ...swap, usdt: '900.00', qty: '0.50' }));
    const reordered = Object.fromEntries(Object.entries(swap).reverse());
    assert.equal(a, b);
    assert.equal(a, fingerprint('counter/swap', parseSwap(reordered)));
    assert.notEqual(a, fingerprint('counter/swap', parseSwap({ ...swap, qty: '0.6' })));
    assert.notEqual(a, fingerprint('trade/market', parseSwap(swap)));
  });

  describe('idempotency store', () => {
    it('answers new, replay or conflict', () => {
      const s = new IdempotencyStore();
      assert.deepEqual(s.lookup('k', 'f1'), { kind: 'new' });
      const reply = { fingerprint: 'f1', status: 200, body: '{"key":"k"}' };
      s.remember('k', reply);
      assert.deepEqual(s.lookup('k', 'f1'), { kind: 'replay', reply });
      assert.deepEqual(s.lookup('k', 'f2'), { kind: 'conflict', reply });
      assert.throws(() => s.remember('k', reply), /already answered/);
      assert.equal(s.size, 1);
    });
  });

  describe('counter orders query', () => {
    const q = (s: string) => parseOrdersQuery(new URLSearchParams(s));
    it('reads shard, time range and limit', () => {
      assert.deepEqual(q('shard=3&fromMs=100&toMs=200&limit=5'), {
        shard: 3,
        fromMs: 100,
        toMs: 200,
        limit: 5,
      });
      assert.equal(q('shard=0&fromMs=0&toMs=0').limit, 1000);
    });
    const wrong: [string, RegExp][] = [
      ['fromMs=1&toMs=2', /^shard: expected an integer/],
      ['shard=-1&fromMs=1&toMs=2', /^shard: /],
      ['shard=1&fromMs=x&toMs=2', /^fromMs: /],
      ['shard=1&fromMs=1', /^toMs: /],
      ['shard=1&fromMs=5&toMs=2', /^toMs: must not be before fromMs/],
      ['shard=1&fromMs=1&toMs=2&limit=0', /^limit: expected an integer from 1 to 10000/],
      ['shard=1&fromMs=1&toMs=2&limit=10001', /^limit: /],
    ];
    for (const [query, message] of wrong) {
      it(`refuses ${query}`, () => assert.throws(() => q(query), invalid(message)));
    }
  });
});
