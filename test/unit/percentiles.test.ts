import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentiles } from '../../src/infra/percentiles.js';

describe('percentiles (HdrHistogram, 3 significant digits)', () => {
  it('within 0.1% of the exact rank, and never above the exact max', () => {
    const p = percentiles(Array.from({ length: 1000 }, (_, i) => (i + 1) * 0.4789));
    assert.equal(p.count, 1000);
    for (const [got, exact] of [
      [p.p50, 500 * 0.4789],
      [p.p90, 900 * 0.4789],
      [p.p99, 990 * 0.4789],
    ] as const) {
      assert.ok(Math.abs(got - exact) / exact <= 0.001, `${got} vs ${exact}`);
    }
    assert.equal(p.max, 478.9);
    assert.ok(p.p99 <= p.max);
    assert.deepEqual(percentiles([478.591]), {
      count: 1,
      p50: 478.591,
      p90: 478.591,
      p99: 478.591,
      max: 478.591,
    });
  });
});
