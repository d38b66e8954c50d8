import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextStreak, pausesFollow, type RefusalStreak } from '../../src/copytrade/domain/refusal-streak.js';
import { batchSql } from '../../src/copytrade/fanout/copy-store.js';

const refused = (code: string) => ({ status: 'REJECTED', code }) as const;

describe('refusal streaks: the same reason N times in a row pauses a follow', () => {
  it('counts refusals of one code, starts again at 1 for another, ends at a fill', () => {
    let s: RefusalStreak | undefined;
    for (let i = 1; i <= 3; i++) s = nextStreak(s, refused('INSUFFICIENT_MARGIN'), i);
    assert.deepEqual(s, { code: 'INSUFFICIENT_MARGIN', count: 3, lastMs: 3 });
    s = nextStreak(s, refused('QTY_ABOVE_MAX'), 4);
    assert.deepEqual(s, { code: 'QTY_ABOVE_MAX', count: 1, lastMs: 4 });
    assert.equal(nextStreak(s, { status: 'FILLED' }, 5), undefined);
    assert.deepEqual(nextStreak(undefined, refused('X'), 6), { code: 'X', count: 1, lastMs: 6 });
  });

  it('pauses at the limit, never with limit 0', () => {
    const at = (count: number) => ({ code: 'X', count, lastMs: 0 });
    assert.equal(pausesFollow(at(4), 5), false);
    assert.equal(pausesFollow(at(5), 5), true);
    assert.equal(pausesFollow(at(6), 5), true);
    assert.equal(pausesFollow(at(1000), 0), false);
  });

  it('written with the batch as absolute values; an ended streak deleted', () => {
    const sql = batchSql(
      {
        signalKey: 's1@lead',
        orders: [],
        skips: [],
        slices: [],
        refusals: [
          { copierId: 'c1', traderId: 'lead', streak: { code: 'INSUFFICIENT_MARGIN', count: 2, lastMs: 7 } },
          { copierId: 'c2', traderId: 'lead', streak: null },
        ],
      },
      9,
    );
    assert.match(
      sql,
      /INSERT INTO copy_follow_refusal \(copier_id, trader_id, code, count, last_ms\) VALUES \('c1','lead','INSUFFICIENT_MARGIN',2,7\)\s+ON DUPLICATE KEY UPDATE code=VALUES\(code\), count=VALUES\(count\), last_ms=VALUES\(last_ms\);/,
    );
    assert.match(
      sql,
      /DELETE FROM copy_follow_refusal WHERE \(copier_id, trader_id\) IN \(\('c2','lead'\)\);\nCOMMIT;$/,
    );
    const none = batchSql({ signalKey: 's', orders: [], skips: [], slices: [] }, 9);
    assert.doesNotMatch(none, /copy_follow_refusal/);
  });
});
