import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkClock, watermarkCeiling } from '../../src/settlement/domain/clock-skew.js';
import type { IntakeOrder } from '../../src/settlement/domain/order.js';

const order = (orderId: string, counterCreatedMs: number): IntakeOrder => ({
  orderId,
  shard: 0,
  userId: 'u1',
  flow: 'open',
  asset: 'BTC',
  qty: '1',
  usdt: '10',
  counterCreatedMs,
});

describe('clock skew', () => {
  it('keeps orders up to the skew ahead, rejects those further ahead with the reason', () => {
    const now = 1_000_000;
    const c = checkClock(
      [order('past', now - 5000), order('edge', now + 60_000), order('far', now + 60_001)],
      now,
      60_000,
    );
    assert.deepEqual(
      c.due.map((o) => o.orderId),
      ['past', 'edge'],
    );
    assert.deepEqual(
      c.ahead.map((a) => a.order.orderId),
      ['far'],
    );
    assert.match(
      c.ahead[0]?.reason ?? '',
      /60001 ms ahead of the engine's clock \(TF_MAX_CLOCK_SKEW_MS is 60000\)/,
    );
    assert.equal(c.skewMs, 60_001);
  });
  it('reports no skew when every order is dated in the past', () => {
    assert.equal(checkClock([order('a', 10)], 100, 0).skewMs, 0);
    assert.equal(checkClock([], 100, 0).skewMs, 0);
  });
  it('caps a watermark at now + skew', () => {
    assert.equal(watermarkCeiling(1000, 50), 1050);
  });
});
