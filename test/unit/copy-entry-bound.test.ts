import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { entryLimitPrice } from '../../src/copytrade/domain/entry-bound.js';
import { fx, fxStr } from '../../src/copytrade/domain/fixed.js';

const bound = (side: 'buy' | 'sell', fill: string, s: string, tick: string) =>
  fxStr(entryLimitPrice(side, fx(fill), fx(s), fx(tick)));

describe('entryLimitPrice: the bound of a copied open', () => {
  it('a buy: fill × (1 + s), rounded down to the tick', () => {
    assert.equal(bound('buy', '50000', '0.005', '0.1'), '50250');
    // 63123.4 × 1.005 = 63439.017 → 63439
    assert.equal(bound('buy', '63123.4', '0.005', '0.1'), '63439');
    assert.equal(bound('buy', '63123.4', '0.005', '0.5'), '63439');
    assert.equal(bound('buy', '63123.4', '0.005', '1'), '63439');
    assert.equal(bound('buy', '63123.4', '0.005', '10'), '63430');
  });

  it('a sell: fill × (1 − s), rounded up to the tick', () => {
    assert.equal(bound('sell', '50000', '0.005', '0.1'), '49750');
    // 63123.4 × 0.995 = 62807.783 → 62807.8
    assert.equal(bound('sell', '63123.4', '0.005', '0.1'), '62807.8');
    assert.equal(bound('sell', '63123.4', '0.005', '10'), '62810');
  });

  it('rounding never widens the bound: exact at the boundary, within it elsewhere', () => {
    // exactly on a tick: kept as it is
    assert.equal(bound('buy', '2000', '0.015', '0.01'), '2030');
    assert.equal(bound('sell', '2000', '0.015', '0.01'), '1970');
    for (const [fill, s, tick] of [
      ['3456.78', '0.003', '0.01'],
      ['0.123457', '0.0299', '0.000001'],
      ['98765.4', '0.001', '0.5'],
      ['1.1', '0.017', '0.1'],
    ] as const) {
      const f = fx(fill);
      const up = entryLimitPrice('buy', f, fx(s), fx(tick));
      const down = entryLimitPrice('sell', f, fx(s), fx(tick));
      // buy ≤ fill × (1 + s) and the next tick above is beyond it (scale 10^36, exact)
      const hi = f * (10n ** 18n + fx(s));
      assert.ok(up * 10n ** 18n <= hi, `buy ${fill} ${s}`);
      assert.ok((up + fx(tick)) * 10n ** 18n > hi, `buy ${fill} ${s} tight`);
      const lo = f * (10n ** 18n - fx(s));
      assert.ok(down * 10n ** 18n >= lo, `sell ${fill} ${s}`);
      assert.ok((down - fx(tick)) * 10n ** 18n < lo, `sell ${fill} ${s} tight`);
      assert.equal(up % fx(tick), 0n);
      assert.equal(down % fx(tick), 0n);
    }
  });

  it('a sell bound is never below one tick', () => {
    assert.equal(bound('sell', '0.1', '0.03', '0.1'), '0.1');
  });
});
