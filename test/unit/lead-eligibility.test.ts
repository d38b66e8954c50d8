import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type CriterionName,
  DEFAULT_ELIGIBILITY_THRESHOLDS,
  eligibility,
  type HistorySummary,
  levelOf,
} from '../../src/copytrade/domain/eligibility.js';
import { DAY_MS } from '../../src/copytrade/domain/nav.js';

const NOW = Date.UTC(2025, 5, 1);

/** Every value exactly at its default threshold: eligible. */
const atThresholds: HistorySummary = {
  firstTradeAt: NOW - 30 * DAY_MS,
  now: NOW,
  closedPositions: 20,
  roi30d: '0',
  maxDrawdown30d: '0.5',
  tradingBalance: '500',
};

function failing(history: HistorySummary): CriterionName[] {
  return eligibility(history)
    .criteria.filter((c) => !c.passed)
    .map((c) => c.name);
}

describe('lead eligibility', () => {
  it('records every criterion with its value and threshold; all at their thresholds pass', () => {
    const result = eligibility(atThresholds);
    assert.equal(result.eligible, true);
    assert.deepEqual(result.criteria, [
      { name: 'daysSinceFirstTrade', value: '30', threshold: '30', comparison: '>=', passed: true },
      { name: 'closedPositions', value: '20', threshold: '20', comparison: '>=', passed: true },
      { name: 'roi30d', value: '0', threshold: '0', comparison: '>=', passed: true },
      { name: 'maxDrawdown30d', value: '0.5', threshold: '0.5', comparison: '<=', passed: true },
      { name: 'tradingBalance', value: '500', threshold: '500', comparison: '>=', passed: true },
    ]);
  });

  const sides: [CriterionName, Partial<HistorySummary>, Partial<HistorySummary>][] = [
    // a partial day does not count: 30 days less 1 ms is 29 days
    ['daysSinceFirstTrade', { firstTradeAt: NOW - 30 * DAY_MS + 1 }, { firstTradeAt: NOW - 31 * DAY_MS }],
    ['closedPositions', { closedPositions: 19 }, { closedPositions: 21 }],
    ['roi30d', { roi30d: '-0.00000001' }, { roi30d: '0.00000001' }],
    ['maxDrawdown30d', { maxDrawdown30d: '0.50000001' }, { maxDrawdown30d: '0.49999999' }],
    ['tradingBalance', { tradingBalance: '499.99999999' }, { tradingBalance: '500.00000001' }],
  ];
  for (const [name, worse, better] of sides) {
    it(`${name}: fails just on the wrong side of its threshold, passes just on the right side`, () => {
      assert.deepEqual(failing({ ...atThresholds, ...worse }), [name]);
      assert.equal(eligibility({ ...atThresholds, ...worse }).eligible, false);
      assert.deepEqual(failing({ ...atThresholds, ...better }), []);
      assert.equal(eligibility({ ...atThresholds, ...better }).eligible, true);
    });
  }

  it('a user who never traded has 0 days; thresholds given as an argument replace the defaults', () => {
    assert.deepEqual(failing({ ...atThresholds, firstTradeAt: null }), ['daysSinceFirstTrade']);
    const strict = { ...DEFAULT_ELIGIBILITY_THRESHOLDS, minClosedPositions: 50, maxDrawdown30d: '0.2' };
    const result = eligibility({ ...atThresholds, closedPositions: 49, maxDrawdown30d: '0.2' }, strict);
    assert.deepEqual(
      result.criteria.filter((c) => !c.passed).map((c) => [c.name, c.value, c.threshold]),
      [['closedPositions', '49', '50']],
    );
  });

  it('refuses values that are not decimal strings or counts', () => {
    assert.throws(
      () => eligibility({ ...atThresholds, roi30d: '1e-3' }),
      /roi30d: expected a decimal string/,
    );
    assert.throws(() => eligibility({ ...atThresholds, closedPositions: -1 }), /expected a count/);
  });
});

describe('lead levels', () => {
  const days = (n: number, copiers: number): number[] => Array.from({ length: n }, () => copiers);

  it('L1 (100 copiers, 10%) without AUM or copiers', () => {
    const l1 = levelOf({ averageAum90d: '0', dailyCopiers: [] });
    assert.deepEqual([l1.level, l1.maxCopiers, l1.profitShareRatio], [1, 100, '0.1']);
  });

  it('L2 (500, 15%): 90-day average AUM above 20,000 and 100 copiers on each of 7 days', () => {
    const l2 = levelOf({ averageAum90d: '20000.00000001', dailyCopiers: days(7, 100) });
    assert.deepEqual([l2.level, l2.maxCopiers, l2.profitShareRatio], [2, 500, '0.15']);
    // AUM at 20,000 is not above it
    assert.equal(levelOf({ averageAum90d: '20000', dailyCopiers: days(7, 100) }).level, 1);
    // 99 copiers on one of the last 7 days, or only 6 days of history
    assert.equal(levelOf({ averageAum90d: '30000', dailyCopiers: [...days(6, 100), 99] }).level, 1);
    assert.equal(levelOf({ averageAum90d: '30000', dailyCopiers: [99, ...days(6, 100)] }).level, 1);
    assert.equal(levelOf({ averageAum90d: '30000', dailyCopiers: days(6, 100) }).level, 1);
    // only the last 7 days count
    assert.equal(levelOf({ averageAum90d: '30000', dailyCopiers: [0, ...days(7, 100)] }).level, 2);
  });

  it('L3 (1,000, 30%): AUM above 100,000 and 500 copiers on each of 7 days', () => {
    const l3 = levelOf({ averageAum90d: '100000.00000001', dailyCopiers: days(7, 500) });
    assert.deepEqual([l3.level, l3.maxCopiers, l3.profitShareRatio], [3, 1000, '0.3']);
    assert.equal(levelOf({ averageAum90d: '100000', dailyCopiers: days(7, 500) }).level, 2);
    assert.equal(levelOf({ averageAum90d: '200000', dailyCopiers: [...days(6, 500), 499] }).level, 2);
    assert.equal(levelOf({ averageAum90d: '200000', dailyCopiers: days(7, 99) }).level, 1);
  });

  it('takes its rules as an argument', () => {
    const rules = [
      {
        level: 1,
        maxCopiers: 10,
        profitShareRatio: '0.05',
        minAverageAum90d: null,
        minCopiers: 0,
        copiersForDays: 0,
      },
      {
        level: 2,
        maxCopiers: 20,
        profitShareRatio: '0.1',
        minAverageAum90d: '10',
        minCopiers: 3,
        copiersForDays: 2,
      },
    ] as const;
    assert.equal(levelOf({ averageAum90d: '10.1', dailyCopiers: [3, 3] }, rules).level, 2);
    assert.equal(levelOf({ averageAum90d: '10.1', dailyCopiers: [3] }, rules).level, 1);
  });
});
