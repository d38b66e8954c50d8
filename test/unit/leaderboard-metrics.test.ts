import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type CashFlow,
  DAY_MS,
  type EquityPoint,
  inWindow,
  maxDrawdown,
  navCurve,
  roi,
  sharpe,
  winRate,
} from '../../src/copytrade/domain/nav.js';
import { Money, money } from '../../src/domain/money.js';

const T0 = Date.UTC(2025, 0, 1);
const day = (n: number): number => T0 + n * DAY_MS;

/**
 * Returns +10%, −10%, +20%, −5%, +5% on 1,000 USDT, with 500 deposited during day 2 and 788
 * withdrawn at the day-4 snapshot:
 *   day 0: 1000                          NAV 1
 *   day 1: 1100                          NAV 1.1
 *   day 2: 1100 × 0.9 + 500 = 1490       NAV 1.1 × (1490 − 500) / 1100 = 0.99
 *   day 3: 1490 × 1.2 = 1788             NAV 1.188
 *   day 4: 1788 × 0.95 − 788 = 910.6     NAV 1.188 × (910.6 + 788) / 1788 = 1.1286
 *   day 5: 910.6 × 1.05 = 956.13         NAV 1.18503
 */
const points: EquityPoint[] = [
  { at: day(0), equity: '1000' },
  { at: day(1), equity: '1100' },
  { at: day(2), equity: '1490' },
  { at: day(3), equity: '1788' },
  { at: day(4), equity: '910.6' },
  { at: day(5), equity: '956.13' },
];
const flows: CashFlow[] = [
  { at: day(1) + 3_600_000, amount: '500' },
  { at: day(4), amount: '-788' },
];

describe('NAV curve', () => {
  it('moves with trading only: a deposit between snapshots and a withdrawal at one leave NAV to the returns', () => {
    const curve = navCurve(points, flows);
    assert.deepEqual(
      curve.map((p) => p.nav),
      ['1', '1.1', '0.99', '1.188', '1.1286', '1.18503'],
    );
    assert.equal(roi(curve), '0.18503');
    // the same returns without any flow: 1000 → 1185.03
    const noFlows = navCurve(
      ['1000', '1100', '990', '1188', '1128.6', '1185.03'].map((equity, i) => ({ at: day(i), equity })),
      [],
    );
    assert.equal(roi(noFlows), '0.18503');
  });

  it('ignores flows at or before the first snapshot and after the last, and sorts its input', () => {
    const curve = navCurve([...points].reverse(), [
      ...flows,
      { at: day(0), amount: '1000' },
      { at: day(-3), amount: '5' },
      { at: day(6), amount: '-9' },
    ]);
    assert.equal(roi(curve), '0.18503');
  });

  it('carries NAV over a period that started empty, and stops at 0 on losses beyond the account', () => {
    // withdraw everything, deposit again: the empty day is no performance
    const emptied = navCurve(
      [
        { at: day(0), equity: '100' },
        { at: day(1), equity: '0' },
        { at: day(2), equity: '300' },
        { at: day(3), equity: '330' },
      ],
      [
        { at: day(1), amount: '-110' },
        { at: day(2), amount: '300' },
      ],
    );
    assert.deepEqual(
      emptied.map((p) => p.nav),
      ['1', '1.1', '1.1', '1.21'],
    );
    // 50 in the account, 100 deposited, everything lost: factor (0 − 100) / 50 < 0 → 0
    const wiped = navCurve(
      [
        { at: day(0), equity: '50' },
        { at: day(1), equity: '0' },
        { at: day(2), equity: '10' },
        { at: day(3), equity: '20' },
      ],
      [
        { at: day(1), amount: '100' },
        { at: day(2), amount: '10' },
      ],
    );
    assert.deepEqual(
      wiped.map((p) => p.nav),
      ['1', '0', '0', '0'],
    );
    assert.equal(roi(wiped), '-1');
    assert.equal(roi(wiped.slice(1)), '-1');
    assert.equal(maxDrawdown(wiped), '1');
    assert.equal(maxDrawdown(wiped.slice(1)), '1');
  });

  it('refuses amounts that are not decimal strings, negative equity and bad times', () => {
    assert.throws(() => navCurve([{ at: day(0), equity: '1e3' }], []), /equity: expected a decimal string/);
    assert.throws(() => navCurve([{ at: day(0), equity: '-1' }], []), /must not be negative/);
    assert.throws(() => navCurve([{ at: 1.5, equity: '1' }], []), /expected a time in ms/);
    assert.throws(() => navCurve([], [{ at: day(0), amount: 'x' }]), /cash flow: expected a decimal string/);
  });
});

describe('ROI, drawdown, Sharpe, win rate', () => {
  const curve = navCurve(points, flows);

  it('max drawdown is the largest fall from a running peak, as a fraction', () => {
    // 1.1 → 0.99 is 0.1; 1.188 → 1.1286 is 0.05
    assert.equal(maxDrawdown(curve), '0.1');
    assert.equal(maxDrawdown(curve.slice(2)), '0.05');
    assert.equal(maxDrawdown(curve.slice(0, 2)), '0');
    assert.equal(maxDrawdown(curve.slice(0, 1)), '0');
    assert.equal(roi(curve.slice(0, 1)), '0');
    assert.equal(roi([]), '0');
  });

  it('rounds against the trader: ROI toward −∞, drawdown toward +∞', () => {
    const thirds = navCurve(
      [
        { at: day(0), equity: '3' },
        { at: day(1), equity: '2' },
        { at: day(2), equity: '4' },
      ],
      [],
    );
    // NAV 1, 0.666…, 1.333…: ROI over day 0-1 −1/3, drawdown 1/3
    assert.equal(roi(thirds.slice(0, 2)), '-0.33333334');
    assert.equal(maxDrawdown(thirds), '0.33333334');
    assert.equal(roi(thirds), '0.33333333');
  });

  it('Sharpe: mean / sample stdev of daily returns × √365', () => {
    // r = 0.1, −0.1, 0.2, −0.05, 0.05; mean 0.04; Σ(r − mean)² = 0.057; s² = 0.057 / 4
    // 0.04 / √0.01425 × √365 = 6.40175414557…
    assert.equal(sharpe(curve), '6.40175414');
  });

  it('Sharpe takes the last NAV of each UTC day, and is null for < 2 returns or zero stdev', () => {
    const intraday = navCurve(
      [...points, { at: day(2) + 60_000, equity: '5000' }, { at: day(2) + 120_000, equity: '1490' }],
      flows,
    );
    assert.equal(sharpe(intraday), '6.40175414');
    assert.equal(sharpe(curve.slice(0, 2)), null);
    assert.equal(sharpe(curve.slice(0, 1)), null);
    const steady = navCurve(
      ['100', '110', '121', '133.1'].map((equity, i) => ({ at: day(i), equity })),
      [],
    );
    assert.equal(sharpe(steady), null);
  });

  it('win rate: profitable closed positions / closed positions, a flat close is not a win', () => {
    assert.equal(winRate(['10', '-5', '0', '3']), '0.5');
    assert.equal(winRate(['1', '1', '-1']), '0.66666666');
    assert.equal(winRate(['-1']), '0');
    assert.equal(winRate([]), null);
    assert.throws(() => winRate(['1.5e2']), /closed PnL: expected a decimal string/);
  });

  it('windows take the points in [now − days, now], both ends included', () => {
    const daily = navCurve(
      Array.from({ length: 100 }, (_, i) => ({ at: day(i), equity: String(1000 + i) })),
      [],
    );
    const now = day(99);
    assert.equal(inWindow(daily, '7d', now).length, 8);
    assert.equal(inWindow(daily, '30d', now).length, 31);
    assert.equal(inWindow(daily, '90d', now).length, 91);
    assert.equal(inWindow(daily, '7d', now + 1).length, 7);
    assert.equal(inWindow(daily, '7d', day(50))[0]?.at, day(43));
    // ROI over 30 days: 1099 / 1069 − 1 = 0.0280636…
    assert.equal(roi(inWindow(daily, '30d', now)), '0.02806361');
  });
});

describe('property: deposits and withdrawals at a snapshot never change ROI', () => {
  it('the same returns with and without flows give the same NAV curve', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(
          fc.record({
            percent: fc.integer({ min: -90, max: 100 }),
            flow: fc.integer({ min: -1_000_000, max: 1_000_000 }),
            offset: fc.integer({ min: 1, max: DAY_MS }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        (start, steps) => {
          let withFlows: Money = money(start);
          let without: Money = money(start);
          const a: EquityPoint[] = [{ at: day(0), equity: String(start) }];
          const b: EquityPoint[] = [{ at: day(0), equity: String(start) }];
          const cash: CashFlow[] = [];
          steps.forEach((s, i) => {
            const factor = money(100 + s.percent).div(100);
            const grown = withFlows.times(factor);
            // a withdrawal takes at most half of what is there, so the account is never emptied
            const half = grown.div(2).floor();
            const flow = s.flow >= 0 ? money(s.flow) : Money.min(money(-s.flow), half).neg();
            withFlows = grown.plus(flow);
            without = without.times(factor);
            a.push({ at: day(i + 1), equity: withFlows.toFixed() });
            b.push({ at: day(i + 1), equity: without.toFixed() });
            if (!flow.isZero()) cash.push({ at: day(i) + s.offset, amount: flow.toFixed() });
          });
          const curveA = navCurve(a, cash);
          const curveB = navCurve(b, []);
          assert.deepEqual(curveA, curveB);
          assert.equal(roi(curveA), roi(curveB));
        },
      ),
      { numRuns: 300 },
    );
  });
});
