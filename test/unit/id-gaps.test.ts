import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdGaps } from '../../src/settlement/domain/id-gaps.js';

describe('id gaps of the intake poller', () => {
  it('notes the ids skipped between reads and forgets them once filled', () => {
    const g = new IdGaps(1000);
    g.read(10, [11, 12, 15], 0);
    assert.deepEqual(g.pending(0), [13, 14]);
    assert.equal(g.safeCursor(15), 12);
    g.filled(13);
    g.read(15, [16, 18], 10);
    assert.deepEqual(g.pending(10).sort(), [14, 17]);
    g.read(18, [14], 20); // a late row read by id
    assert.deepEqual(g.pending(20), [17]);
    assert.equal(g.safeCursor(18), 16);
  });

  it('gives a gap up after the wait, so a rolled-back insert does not hold the cursor', () => {
    const g = new IdGaps(1000);
    g.read(0, [1, 3], 0);
    assert.deepEqual(g.pending(1000), [2]);
    assert.deepEqual(g.pending(1001), []);
    assert.equal(g.safeCursor(3), 3);
  });

  it('does not wait for the ids of a wide jump', () => {
    const g = new IdGaps(1000, 100);
    g.read(0, [1, 1_000_000], 0);
    assert.deepEqual(g.pending(0), []);
    assert.equal(g.safeCursor(1_000_000), 1_000_000);
  });
});
