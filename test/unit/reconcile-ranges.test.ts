import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planPass, type ShardCursor } from '../../src/settlement/domain/reconcile-ranges.js';

const span = { windowMs: 30_000, graceMs: 1000, lagMs: 3000 };
const INTERVAL = 3000;

/** Passes every INTERVAL with the watermark at now: how many passes list a row dated `t`. */
function timesListed(t: number, passes: number): number {
  let cursor: ShardCursor | undefined;
  let n = 0;
  for (let i = 0; i < passes; i++) {
    const now = 1_000_000 + i * INTERVAL;
    const plan = planPass(cursor, now, now, span);
    for (const r of [plan.recent, plan.last]) if (r && r.from <= t && t < r.to) n++;
    cursor = plan.next;
  }
  return n;
}

describe('reconciler ranges', () => {
  it("lists the whole window on a shard's first pass", () => {
    const p = planPass(undefined, 100_000, 101_000, span);
    assert.deepEqual(p.recent, { from: 70_000, to: 100_000 });
    assert.equal(p.last, undefined);
    assert.deepEqual(p.next, { recentTo: 100_000, lastTo: 70_000 });
  });

  it('goes on from the last pass less the lag, and gives what left the window a last look', () => {
    const p = planPass({ recentTo: 100_000, lastTo: 70_000 }, 103_000, 104_000, span);
    assert.deepEqual(p.recent, { from: 97_000, to: 103_000 });
    assert.deepEqual(p.last, { from: 70_000, to: 73_000 });
    assert.deepEqual(p.next, { recentTo: 103_000, lastTo: 73_000 });
  });

  it('lists a row (interval + lag) / interval + 1 times in steady state, not window / interval', () => {
    const counts = [0, 1000, 1500, 2999].map((d) => timesListed(1_000_000 + 20 * INTERVAL + d, 40));
    assert.deepEqual(counts, [3, 3, 3, 3]);
  });

  it('moves both looks on with the clock while the watermark stalls (an idle shard)', () => {
    // nothing lifts the watermark: neither the recent look nor a late row's last look waits for it
    const p = planPass({ recentTo: 100_000, lastTo: 70_000 }, 50_000, 104_000, span);
    assert.deepEqual(p.recent, { from: 97_000, to: 103_000 });
    assert.deepEqual(p.last, { from: 70_000, to: 73_000 });
  });

  it('starts over with the whole window when its cursor fell out of it (the role came back later)', () => {
    const p = planPass({ recentTo: 100_000, lastTo: 70_000 }, 200_000, 201_000, span);
    assert.deepEqual(p.recent, { from: 170_000, to: 200_000 });
    assert.equal(p.last, undefined);
  });

  it('never lists past now less the grace, whatever the watermark (a counter clock ahead)', () => {
    const p = planPass({ recentTo: 100_000, lastTo: 70_000 }, Date.UTC(2100, 0, 1), 103_000, span);
    assert.deepEqual(p.recent, { from: 97_000, to: 102_000 });
    assert.deepEqual(p.last, { from: 70_000, to: 72_000 });
    // our clock stepped back: an empty look, the cursor does not move back
    const back = planPass({ recentTo: 100_000, lastTo: 70_000 }, 99_000, 99_500, span);
    assert.deepEqual(back.recent, { from: 97_000, to: 98_500 });
    assert.equal(back.next.recentTo, 100_000);
  });
});
