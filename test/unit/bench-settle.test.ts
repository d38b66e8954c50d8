import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuMsPerOrder, cpuTicks } from '../../scripts/bench/proc-stat.js';
import { schedulingFromStat } from '../../scripts/bench/sched.js';
import { commandCalls, deltas, sum } from '../../scripts/bench/server-stats.js';
import { latency, show, spread } from '../../scripts/bench/stats.js';
import { evaluateTargets, type RateFigures } from '../../scripts/bench/targets.js';
import { poissonArrivals, seededRandom } from '../../src/load/schedule.js';

test('Poisson schedule: mean spacing 1000/rate within 3%, exponential spread, repeatable by seed', () => {
  const a = poissonArrivals(500, 60_000, seededRandom(7));
  const gaps = a.slice(1).map((t, i) => t - (a[i] as number));
  const mean = gaps.reduce((x, y) => x + y, 0) / gaps.length;
  assert.ok(Math.abs(mean - 2) / 2 < 0.03, `mean spacing ${mean}`);
  // exponential: standard deviation ≈ mean (a fixed tick would give 0)
  const sd = Math.sqrt(gaps.reduce((x, g) => x + (g - mean) ** 2, 0) / gaps.length);
  assert.ok(Math.abs(sd - mean) / mean < 0.05, `sd ${sd}`);
  assert.ok(a.every((t, i) => t >= 0 && t < 60_000 && (i === 0 || t >= (a[i - 1] as number))));
  assert.deepEqual(poissonArrivals(500, 1000, seededRandom(7)), poissonArrivals(500, 1000, seededRandom(7)));
  assert.notDeepEqual(
    poissonArrivals(500, 1000, seededRandom(7)),
    poissonArrivals(500, 1000, seededRandom(8)),
  );
  assert.deepEqual(poissonArrivals(0, 1000, seededRandom(1)), []);
});

test('/proc/<pid>/stat: utime + stime after the last ")", even with spaces and ")" in the name', () => {
  const line =
    '16900 (my (odd) proc) R 16893 16893 14986 0 -1 4194304 117 0 0 0 250 31 0 0 20 0 1 0 436906 3133440 392 18446744073709551615';
  assert.equal(cpuTicks(line), 281);
  assert.throws(() => cpuTicks('garbage'));
  assert.equal(cpuMsPerOrder(1000, 1300, 100, 1500), 2);
  assert.equal(cpuMsPerOrder(0, 10, 100, 0), null);
});

test('latency: unfinished orders are infinitely late; a percentile on them is null (∞)', () => {
  const finished = Array.from({ length: 990 }, (_, i) => i + 1);
  const l = latency(finished, 10);
  assert.equal(l.count, 990);
  assert.equal(l.unfinished, 10);
  assert.ok(l.p50 !== null && Math.abs(l.p50 - 500) <= 1);
  assert.ok(l.p90 !== null && Math.abs(l.p90 - 900) <= 1);
  // 1% unfinished: p99 is the last finished one at most, p99.9 and max are ∞
  assert.ok(l.p99 !== null && l.p99 <= 990);
  assert.equal(l.p99_9, null);
  assert.equal(l.max, null);
  assert.equal(show(l.max), '∞');
  const some = latency(finished, 20);
  assert.equal(some.p99, null);
  const none = latency([5, 5, 7]);
  assert.equal(none.max, 7);
  assert.equal(none.unfinished, 0);
});

test('spread: median (even count: middle two averaged), min, max; ∞ sorts last', () => {
  assert.deepEqual(spread([30, 10, 20]), { median: 20, min: 10, max: 30 });
  assert.deepEqual(spread([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4 });
  assert.deepEqual(spread([null, 10, 20]), { median: 20, min: 10, max: null });
  assert.deepEqual(spread([null, null, 20]), { median: null, min: 20, max: null });
  assert.deepEqual(spread([]), { median: null, min: null, max: null });
});

test('INFO commandstats: calls per command and their deltas', () => {
  const before = commandCalls(
    '# Commandstats\r\ncmdstat_xadd:calls=10,usec=5,usec_per_call=0.5\r\ncmdstat_get:calls=3,usec=1',
  );
  const after = commandCalls(
    'cmdstat_xadd:calls=25,usec=9\ncmdstat_get:calls=3,usec=1\ncmdstat_evalsha:calls=4,usec=1',
  );
  const d = deltas(before, after);
  assert.deepEqual(
    [...d.entries()],
    [
      ['xadd', 15],
      ['evalsha', 4],
    ],
  );
  assert.equal(sum(d), 19);
});

test('targets: met, not met and not measured from the medians', () => {
  const run = (
    rate: number,
    down: number,
    e: number | null,
    b: number | null,
    cpu = 0.5,
    all = 1,
  ): RateFigures => ({
    rate,
    downstreamMs: down,
    engine: { p99: e, cpuMsPerOrder: { engine: cpu, total: all } },
    baseline: { p99: b },
  });
  const t = evaluateTargets([run(200, 0, 40, 50), run(500, 0, 60, 55), run(500, 5, 64, 60, 0.7)], {
    engine: 2000,
    baseline: 1500,
  });
  assert.deepEqual(
    t.map((x) => x.status),
    ['not met', 'met', 'met', 'met'],
  );
  const u = evaluateTargets([run(200, 0, 40, 50), run(500, 0, null, 55, 0.7)], {
    engine: 1300,
    baseline: 1000,
  });
  assert.deepEqual(
    u.map((x) => x.status),
    ['not met', 'met', 'not met', 'not measured'],
  );
  // an infinite engine p99 never meets; an infinite baseline p99 is beaten by any finite one
  const v = evaluateTargets([run(200, 0, 40, null), run(500, 0, 30, 55), run(500, 5, null, null)], {
    engine: 100,
    baseline: null,
  });
  assert.deepEqual(
    v.map((x) => x.status),
    ['met', 'not measured', 'met', 'not met'],
  );
});

test('/proc/<pid>/stat: scheduling policy and real-time priority (fields 41 and 40) after the last ")"', () => {
  // a line as a SCHED_FIFO 50 process has it (fields 40, 41: 50 1), then SCHED_OTHER and SCHED_IDLE
  const fifo =
    '7240 (node (x)) S 1 7240 1 0 -1 4194560 2416 0 0 0 3 1 0 0 -51 0 7 0 29770 1090707456 11584 18446744073709551615 1 1 0 0 0 0 0 4096 134234626 0 0 0 17 1 50 1 0 0 0 0 0 0 0 0 0 0 0';
  assert.equal(schedulingFromStat(fifo), 'SCHED_FIFO 50');
  assert.equal(schedulingFromStat(fifo.replace(' 17 1 50 1 ', ' 17 1 0 0 ')), 'SCHED_OTHER');
  assert.equal(schedulingFromStat(fifo.replace(' 17 1 50 1 ', ' 17 1 0 5 ')), 'SCHED_IDLE');
});
