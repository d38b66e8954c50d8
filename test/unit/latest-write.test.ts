import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatestWrite } from '../../src/infra/latest-write.js';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('LatestWrite', () => {
  it('writes one at a time, the values offered meanwhile merged into the next', async () => {
    const written: number[][] = [];
    let inFlight = 0;
    let most = 0;
    const w = new LatestWrite<number[]>(
      async (v) => {
        most = Math.max(most, ++inFlight);
        await tick(20);
        written.push(v);
        inFlight--;
      },
      (err) => assert.fail(String(err)),
      { merge: (a, b) => [...a, ...b] },
    );
    w.offer([1]);
    w.offer([2]);
    w.offer([3]);
    await w.flush();
    assert.deepEqual(written, [[1], [2, 3]]);
    assert.equal(most, 1);
  });

  it('keeps at least minGapMs between writes; flush writes at once', async () => {
    const at: number[] = [];
    const w = new LatestWrite<number>(
      async () => void at.push(Date.now()),
      (err) => assert.fail(String(err)),
      { minGapMs: 100 },
    );
    w.offer(1);
    await tick(5);
    w.offer(2);
    await tick(150);
    assert.equal(at.length, 2);
    assert.ok((at[1] ?? 0) - (at[0] ?? 0) >= 95, `writes ${(at[1] ?? 0) - (at[0] ?? 0)} ms apart`);
    w.offer(3);
    const t0 = Date.now();
    await w.flush();
    assert.equal(at.length, 3);
    assert.ok(Date.now() - t0 < 50, 'flush waited for the gap');
  });

  it('keeps a failed value, merged with newer ones, for the retry', async () => {
    const written: number[] = [];
    const errors: unknown[] = [];
    let fail = true;
    const w = new LatestWrite<number>(
      async (v) => {
        if (fail) throw new Error('down');
        written.push(v);
      },
      (err) => errors.push(err),
      { retryMs: 30, merge: Math.max },
    );
    w.offer(5);
    await tick(5);
    w.offer(4);
    fail = false;
    await tick(60);
    assert.equal(errors.length, 1);
    assert.deepEqual(written, [5]);
  });
});
