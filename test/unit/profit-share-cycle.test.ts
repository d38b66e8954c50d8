import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fx, fxStr, ONE, truncTo } from '../../src/copytrade/domain/fixed.js';
import {
  cutoffsBetween,
  emptyPair,
  escrowOf,
  nextCutoff,
  type PairState,
  periodEndingAt,
  periodOf,
  profitShareKey,
  type SettleInput,
  settlePair,
  withhold,
} from '../../src/copytrade/domain/profit-share-cycle.js';

type Week = { closes: string[]; open?: boolean; ratio?: string };

/** Runs weeks of closes, each followed by a cycle settlement; returns every settlement. */
function runWeeks(weeks: Week[], ratio = '0.1') {
  let state: PairState = emptyPair();
  let cumulative = 0n;
  const out = [];
  for (const [i, week] of weeks.entries()) {
    for (const pnl of week.closes) {
      state = withhold(state, pnl, week.ratio ?? ratio);
      cumulative += fx(pnl);
    }
    const input: SettleInput = {
      period: `2026-W${String(i + 10).padStart(2, '0')}`,
      ratio: week.ratio ?? ratio,
      cumulativePnl: fxStr(cumulative),
      open: week.open ?? false,
      by: 'cycle',
    };
    const settled = settlePair(state, input);
    state = settled.next;
    out.push(settled);
  }
  return out;
}

const legs = (s: ReturnType<typeof settlePair>) =>
  s.kind === 'settled' ? [s.payout, s.refund] : [s.kind, s.reason, s.statement.escrow];

describe('settlePair: high-water mark', () => {
  it("follows the issue's example: +200 pays 20 at 10%, +50 pays 0, +300 pays 10 more", () => {
    const weeks = runWeeks([
      { closes: ['200'] },
      { closes: ['-150'] },
      { closes: ['50'] },
      { closes: ['200'] },
    ]);
    assert.deepEqual(weeks.map(legs), [
      ['20', '0'],
      ['0', '0'],
      ['0', '5'], // cumulative 100 < HWM 200: the 5 withheld goes back
      ['10', '10'], // cumulative 300: 10% of the 100 above 200; 20 was withheld
    ]);
    const hwms = weeks.map((w) => w.statement.highWaterMark);
    assert.deepEqual(hwms, ['200', '200', '200', '300']);
    const last = weeks[3]?.statement;
    assert.deepEqual(
      [last?.cumulativePnl, last?.withheld, last?.paid, last?.refunded, last?.escrow],
      ['300', '45', '30', '15', '0'],
    );
  });

  it('conserves the escrow each cycle with partial closes: payout + refund = withheld, never negative', () => {
    const weeks = runWeeks([
      { closes: ['30', '-10', '25.5', '-40'] },
      { closes: ['12.34567891', '0.00000009', '-3'] },
      { closes: ['-100'] },
      { closes: ['80', '79.99999999'] },
    ]);
    let before = emptyPair();
    for (const w of weeks) {
      assert.equal(w.kind, 'settled');
      if (w.kind !== 'settled') continue;
      const escrow = fx(w.next.withheld) - fx(before.withheld);
      assert.equal(fx(w.payout) + fx(w.refund), escrow);
      assert.ok(fx(w.payout) >= 0n && fx(w.refund) >= 0n);
      assert.equal(escrowOf(w.next), '0');
      before = w.next;
    }
  });

  it('refunds everything to a pair that only lost (or only gave back its gains)', () => {
    assert.deepEqual(runWeeks([{ closes: ['-5', '-7'] }]).map(legs), [['0', '0']]);
    assert.deepEqual(runWeeks([{ closes: ['100', '-100'] }, { closes: ['40', '-50'] }]).map(legs), [
      ['0', '10'],
      ['0', '4'],
    ]);
  });

  it('defers a pair with an open slice at the cut-off, then settles it at the first flat cut-off', () => {
    const weeks = runWeeks([
      { closes: ['100'], open: true },
      { closes: ['50'], open: true },
      { closes: ['-20'] },
    ]);
    assert.deepEqual(weeks.map(legs), [
      ['deferred', 'open-slice', '10'],
      ['deferred', 'open-slice', '15'],
      ['13', '2'], // 10% of cumulative 130; 15 held in escrow
    ]);
    assert.equal(weeks[0]?.statement.highWaterMark, '0');
    assert.equal(weeks[2]?.statement.period, '2026-W12');
  });

  it('settles at once on a stop, open slice or not, and then defers within that period', () => {
    let state = withhold(emptyPair(), '100', '0.2');
    const stop = settlePair(state, {
      period: '2026-W49',
      ratio: '0.2',
      cumulativePnl: '100',
      open: true,
      by: 'stop',
    });
    assert.deepEqual(legs(stop), ['20', '0']);
    state = withhold(stop.next, '10', '0.2'); // followed again, closed more in the same week
    const cut = settlePair(state, {
      period: '2026-W49',
      ratio: '0.2',
      cumulativePnl: '110',
      open: false,
      by: 'cycle',
    });
    assert.deepEqual(legs(cut), ['deferred', 'period-settled', '2']);
    const again = settlePair(cut.next, {
      period: '2026-W50',
      ratio: '0.2',
      cumulativePnl: '110',
      open: false,
      by: 'cycle',
    });
    assert.deepEqual(legs(again), ['2', '0']);
  });

  it('applies a changed ratio only to the increment above the HWM, and never pays a level twice', () => {
    const weeks = runWeeks([
      { closes: ['200'], ratio: '0.1' },
      { closes: ['-100'], ratio: '0.3' },
      { closes: ['200'], ratio: '0.3' },
    ]);
    // week 3: cumulative 300, HWM 200 → 30% of 100 = 30; 60 withheld; 20 paid before is not re-priced
    assert.deepEqual(weeks.map(legs), [
      ['20', '0'],
      ['0', '0'],
      ['30', '30'],
    ]);
    // a ratio raised after the close: the share (50% of 100) is capped by what was withheld (10)
    let s = withhold(emptyPair(), '100', '0.1');
    const raised = settlePair(s, {
      period: '2026-W01',
      ratio: '0.5',
      cumulativePnl: '100',
      open: false,
      by: 'cycle',
    });
    assert.deepEqual([...legs(raised), raised.next.highWaterMark], ['10', '0', '100']);
    s = withhold(raised.next, '0', '0.5');
    const later = settlePair(s, {
      period: '2026-W02',
      ratio: '0.5',
      cumulativePnl: '100',
      open: false,
      by: 'cycle',
    });
    assert.deepEqual(legs(later), ['0', '0']);
  });

  it('rounds the payout down to 8 places and refunds the exact remainder', () => {
    const [w] = runWeeks([{ closes: ['123.456789', '-0.00000007'] }], '0.3');
    assert.ok(w?.kind === 'settled');
    // withheld floor8(0.3 × 123.456789) = 37.0370367; share 0.3 × 123.45678893 = 37.037036679
    assert.deepEqual([w.statement.withheld, w.payout, w.refund], ['37.0370367', '37.03703667', '0.00000003']);
    const [third] = runWeeks([{ closes: ['10', '-1'] }], '0.33333333');
    assert.deepEqual(legs(third as ReturnType<typeof settlePair>), ['2.99999997', '0.33333333']);
  });

  it('refuses a ratio outside [0, 1] and a negative escrow', () => {
    assert.throws(() => withhold(emptyPair(), '1', '1.5'), /ratio must be in \[0, 1\]/);
    const bad = { ...emptyPair(), paid: '1' };
    assert.throws(
      () =>
        settlePair(bad, { period: '2026-W01', ratio: '0.1', cumulativePnl: '0', open: false, by: 'cycle' }),
      /escrow is negative/,
    );
  });
});

describe('periods and keys', () => {
  const at = (iso: string) => Date.parse(iso);

  it('cuts weekly periods at Monday 00:00 UTC and daily ones at 00:00 UTC', () => {
    assert.equal(periodOf(at('2026-12-06T23:59:59.999Z'), 'weekly'), '2026-W49'); // Sunday
    assert.equal(periodOf(at('2026-12-07T00:00:00.000Z'), 'weekly'), '2026-W50'); // Monday
    assert.equal(periodOf(at('2026-12-03T09:00:00Z'), 'daily'), '2026-12-03');
    assert.equal(periodOf(at('2026-12-03T23:59:59.999Z'), 'daily'), '2026-12-03');
    assert.equal(nextCutoff(at('2026-12-03T09:00:00Z'), 'weekly'), at('2026-12-07T00:00:00Z'));
    assert.equal(nextCutoff(at('2026-12-07T00:00:00Z'), 'weekly'), at('2026-12-14T00:00:00Z'));
    assert.equal(nextCutoff(at('2026-12-31T12:00:00Z'), 'daily'), at('2027-01-01T00:00:00Z'));
    assert.equal(periodEndingAt(at('2026-12-07T00:00:00Z'), 'weekly'), '2026-W49');
    assert.equal(periodEndingAt(at('2027-01-01T00:00:00Z'), 'daily'), '2026-12-31');
  });

  it('numbers ISO weeks across year ends (week 53, week 1 in the previous December)', () => {
    assert.equal(periodOf(at('2026-12-31T12:00:00Z'), 'weekly'), '2026-W53'); // 2026 has 53 weeks
    assert.equal(periodOf(at('2027-01-03T23:59:59Z'), 'weekly'), '2026-W53'); // Sunday of that week
    assert.equal(periodOf(at('2027-01-04T00:00:00Z'), 'weekly'), '2027-W01');
    assert.equal(periodOf(at('2024-12-30T00:00:00Z'), 'weekly'), '2025-W01'); // Monday in December
    assert.equal(periodOf(at('2021-01-03T12:00:00Z'), 'weekly'), '2020-W53');
    assert.equal(periodOf(at('2026-01-01T00:00:00Z'), 'weekly'), '2026-W01');
    assert.equal(periodOf(at('2025-12-29T00:00:00Z'), 'weekly'), '2026-W01');
  });

  it('lists the cut-offs in (from, to] for a catch-up', () => {
    const from = at('2026-12-20T10:00:00Z');
    const cuts = cutoffsBetween(from, at('2027-01-04T00:00:00Z'), 'weekly');
    assert.deepEqual(
      cuts.map((c) => new Date(c).toISOString()),
      ['2026-12-21T00:00:00.000Z', '2026-12-28T00:00:00.000Z', '2027-01-04T00:00:00.000Z'],
    );
    assert.deepEqual(
      cuts.map((c) => periodEndingAt(c, 'weekly')),
      ['2026-W51', '2026-W52', '2026-W53'],
    );
    assert.deepEqual(cutoffsBetween(at('2026-12-07T00:00:00Z'), at('2026-12-07T00:00:00Z'), 'weekly'), []);
    assert.equal(cutoffsBetween(at('2026-12-01T00:00:00Z'), at('2026-12-08T00:00:00Z'), 'daily').length, 7);
    assert.throws(() => cutoffsBetween(2, 1, 'daily'), /before/);
  });

  it('builds one idempotency key per (copier, trader, period, leg) and refuses ambiguous parts', () => {
    assert.equal(profitShareKey('c1', 'A', '2026-W49', 'payout'), 'ps:c1:A:2026-W49:payout');
    assert.equal(profitShareKey('c1', 'A', '2026-12-03', 'refund'), 'ps:c1:A:2026-12-03:refund');
    assert.throws(() => profitShareKey('c:1', 'A', '2026-W49', 'payout'), /expected an id/);
    assert.throws(() => profitShareKey('c1', 'A', '2026-49', 'payout'), /expected a period id/);
  });
});

describe('settlePair: property', () => {
  const pnl = fc
    .bigInt({ min: -50_000_000_000n, max: 50_000_000_000n })
    .map((units) => fxStr(units * 10n ** 10n)); // ±500 USDT with 8 places
  const week = fc.record({ closes: fc.array(pnl, { maxLength: 5 }), open: fc.boolean() });
  const ratio = fc.integer({ min: 0, max: 10_000 }).map((bp) => fxStr((BigInt(bp) * ONE) / 10_000n));

  it('never pays more than ratio × the highest cumulative PnL at a cut-off, and conserves the escrow', () => {
    fc.assert(
      fc.property(fc.array(week, { maxLength: 12 }), ratio, (weeks, r) => {
        // a last flat week so that every deferred escrow is settled
        const all = [...weeks, { closes: [], open: false }];
        const settled = runWeeks(all, r);
        let cumulative = 0n;
        let peak = 0n;
        let closes = 0n;
        for (const [i, w] of all.entries()) {
          for (const p of w.closes) cumulative += fx(p);
          closes += BigInt(w.closes.length);
          const s = settled[i];
          if (s === undefined) throw new Error('missing settlement');
          if (s.kind === 'settled') {
            if (cumulative > peak) peak = cumulative;
            assert.ok(fx(s.payout) >= 0n && fx(s.refund) >= 0n);
          }
          const t = s.next;
          assert.ok(fx(escrowOf(t)) >= 0n);
          assert.ok(fx(t.paid) <= (peak * fx(r)) / ONE, `paid ${t.paid} > ${r} × ${fxStr(peak)}`);
        }
        const end = settled.at(-1)?.next ?? emptyPair();
        assert.equal(fx(end.paid) + fx(end.refunded), fx(end.withheld));
        // with one ratio, only rounding dust (1e-8 a close and a cycle) keeps the trader below the cap
        const cap = truncTo((peak * fx(r)) / ONE, 8);
        const dust = (closes + BigInt(all.length)) * 10n ** 10n;
        assert.ok(fx(end.paid) >= cap - dust, `paid ${end.paid} < ${fxStr(cap)} − dust`);
      }),
      { numRuns: 300 },
    );
  });

  it('with the ratio changing every week, conserves the escrow and never pays above the highest ratio', () => {
    const varying = fc.record({ closes: fc.array(pnl, { maxLength: 5 }), open: fc.boolean(), ratio });
    fc.assert(
      fc.property(fc.array(varying, { maxLength: 12 }), (weeks) => {
        const all = [...weeks, { closes: [], open: false, ratio: '0' }];
        const settled = runWeeks(all);
        let cumulative = 0n;
        let peak = 0n;
        let top = 0n;
        for (const [i, w] of all.entries()) {
          for (const p of w.closes) cumulative += fx(p);
          if (fx(w.ratio) > top) top = fx(w.ratio);
          const s = settled[i];
          if (s?.kind === 'settled' && cumulative > peak) peak = cumulative;
          assert.ok(s !== undefined && fx(escrowOf(s.next)) >= 0n);
          assert.ok(fx(s.next.paid) <= (peak * top) / ONE);
        }
        const end = settled.at(-1)?.next ?? emptyPair();
        assert.equal(fx(end.paid) + fx(end.refunded), fx(end.withheld));
      }),
      { numRuns: 300 },
    );
  });
});
