import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deliveryOf,
  type Entry,
  judge,
  type OrderAtHand,
  parseStreamId,
  rangeOfIds,
  rangeOfTimes,
} from '../../src/settlement/domain/reprocess-plan.js';
import type { StepMessage } from '../../src/settlement/domain/streams.js';

const order: OrderAtHand = {
  orderId: 'o1',
  status: 'RUNNING',
  step: 2,
  attempt: 3,
  errorCode: null,
  enteredMs: 1_500,
};
const message: StepMessage = {
  orderId: 'o1',
  userId: 'u1',
  flow: 'open',
  asset: 'BTC',
  qty: '0.1',
  usdt: '180',
  step: 2,
  attempt: 3,
  firstAttempt: 1,
  carry: null,
  t0: 1_000,
};
const entry = (id: string, delivery: Entry['delivery'], attempt = 3): Entry => ({
  id,
  message: { ...message, attempt },
  delivery,
});
const range = rangeOfTimes(1_000, 2_000);

describe('reprocess plan', () => {
  it('reads stream ids as bounds, and ids as times', () => {
    assert.deepEqual(parseStreamId('1700-3'), [1700, 3]);
    assert.deepEqual(parseStreamId('1700'), [1700, 0]);
    assert.deepEqual(parseStreamId('1700', 'end'), [1700, Number.MAX_SAFE_INTEGER]);
    assert.throws(() => parseStreamId('17:00'), /not a stream id/);
    const r = rangeOfIds('1000-5', '2000');
    assert.deepEqual([r.sinceMs, r.untilMs], [1000, 2000]);
  });

  it('tells queued, pending and orphaned entries apart', () => {
    const pel = new Map([['5-0', { consumer: 'c1', idleMs: 40 }]]);
    assert.deepEqual(deliveryOf('5-0', pel, '9-0'), { kind: 'pending', consumer: 'c1', idleMs: 40 });
    assert.deepEqual(deliveryOf('6-0', pel, '9-0'), { kind: 'orphaned' });
    assert.deepEqual(deliveryOf('9-1', pel, '9-0'), { kind: 'queued' });
    assert.deepEqual(deliveryOf('1-0', pel, null), { kind: 'queued' }, 'no group: read from the start');
  });

  it('skips orders that are finished, parked, elsewhere or outside the range', () => {
    const skip = (o: Partial<OrderAtHand>) => judge(2, { ...order, ...o }, [], range);
    assert.deepEqual(skip({ status: 'DONE', step: 4 }), { action: 'skip', reason: 'DONE' });
    assert.match(
      (skip({ status: 'MANUAL', errorCode: 'X' }) as { reason: string }).reason,
      /MANUAL at step 2 \(X\)/,
    );
    assert.deepEqual(skip({ step: 3 }), { action: 'skip', reason: 'at step 3: step 2 is done' });
    assert.match((skip({ enteredMs: 2_001 }) as { reason: string }).reason, /outside the range/);
    assert.deepEqual(judge(2, undefined, [], range), { action: 'skip', reason: 'no such order' });
  });

  it('leaves a live entry of the current attempt alone, wherever it is in the stream', () => {
    const late = entry('9000-0', { kind: 'queued' });
    assert.deepEqual(judge(2, order, [late], range), { action: 'queued', entry: '9000-0' });
    const pending = entry('9001-0', { kind: 'pending', consumer: 'c', idleMs: 5 });
    assert.equal(judge(2, order, [late, pending], range).action, 'pending');
    // an entry of an earlier attempt is stale: it does not count
    assert.equal(judge(2, order, [entry('1200-0', { kind: 'queued' }, 2)], range).action, 'redrive');
  });

  it('redrives the rest, replacing orphans, unless a retry is on its way', () => {
    const orphan = entry('1600-0', { kind: 'orphaned' });
    assert.deepEqual(judge(2, order, [orphan], range), { action: 'redrive', orphans: ['1600-0'] });
    // due before the range, but its orphaned entry lies in it
    assert.equal(judge(2, { ...order, enteredMs: 10 }, [orphan], range).action, 'redrive');
    assert.deepEqual(judge(2, order, [], range, 'delayed'), { action: 'scheduled', jobState: 'delayed' });
    assert.equal(judge(2, order, [], range, 'completed').action, 'redrive');
  });
});
