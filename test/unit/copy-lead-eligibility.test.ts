import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import {
  DEFAULT_ELIGIBILITY_THRESHOLDS,
  DEFAULT_LEVEL_RULES,
  eligibility,
} from '../../src/copytrade/domain/eligibility.js';
import { type HistoryInput, summarizeHistory } from '../../src/copytrade/domain/history-summary.js';
import {
  failedCriteria,
  leadSettingsOf,
  parseLeadApplication,
  settingsAtLevel,
} from '../../src/copytrade/domain/lead-application.js';
import { DAY_MS } from '../../src/copytrade/domain/nav.js';
import { SettingsError } from '../../src/copytrade/domain/settings-error.js';

const NOW = Date.UTC(2026, 5, 1, 12);

/** A history that passes every default criterion; `over` changes one part. */
function history(over: Partial<HistoryInput> = {}): HistoryInput {
  const fills = Array.from({ length: 25 }, (_, i) => ({
    atMs: NOW - 40 * DAY_MS + i * DAY_MS,
    action: 'close' as const,
    positionAfter: '0',
  }));
  return {
    firstFillMs: null,
    fills,
    balances: [
      { atMs: NOW - 45 * DAY_MS, balance: '1000', flow: '1000' },
      { atMs: NOW - 20 * DAY_MS, balance: '1100', flow: '0' },
      { atMs: NOW - DAY_MS, balance: '1200', flow: '0' },
    ],
    ...over,
  };
}

const verdict = (h: HistoryInput, balance = '1200') => {
  const e = eligibility(summarizeHistory(h, balance, NOW), DEFAULT_ELIGIBILITY_THRESHOLDS);
  return Object.fromEntries(e.criteria.map((c) => [c.name, { passed: c.passed, value: c.value }]));
};

const closes = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    atMs: NOW - 40 * DAY_MS + i,
    action: 'close' as const,
    positionAfter: '0',
  }));

/** balances over the 30-day window: 1000 at its start, then `to` */
const moveTo = (to: string, low?: string) => ({
  balances: [
    { atMs: NOW - 29 * DAY_MS, balance: '1000', flow: '1000' },
    ...(low ? [{ atMs: NOW - 10 * DAY_MS, balance: low, flow: '0' }] : []),
    { atMs: NOW - DAY_MS, balance: to, flow: '0' },
  ],
});

describe('lead eligibility from a trade history', () => {
  it('a history past every threshold is eligible, each criterion with its value', () => {
    const e = eligibility(summarizeHistory(history(), '1200', NOW));
    assert.equal(e.eligible, true);
    assert.deepEqual(
      e.criteria.map((c) => [c.name, c.value, c.threshold, c.passed]),
      [
        ['daysSinceFirstTrade', '40', '30', true],
        ['closedPositions', '25', '20', true],
        ['roi30d', '0.09090909', '0', true],
        ['maxDrawdown30d', '0', '0.5', true],
        ['tradingBalance', '1200', '500', true],
      ],
    );
  });

  it('days since the first trade: 29 fails, 30 and 31 pass', () => {
    const first = (ms: number) => history({ firstFillMs: ms, fills: [] });
    assert.deepEqual(verdict(first(NOW - 30 * DAY_MS + 1)).daysSinceFirstTrade, {
      passed: false,
      value: '29',
    });
    assert.deepEqual(verdict(first(NOW - 30 * DAY_MS)).daysSinceFirstTrade, { passed: true, value: '30' });
    assert.deepEqual(verdict(first(NOW - 31 * DAY_MS)).daysSinceFirstTrade, { passed: true, value: '31' });
    // the first fill the exchange kept apart counts even when its record was dropped
    assert.equal(verdict(history({ firstFillMs: NOW - 100 * DAY_MS })).daysSinceFirstTrade?.value, '100');
    assert.deepEqual(verdict(history({ fills: [] })).daysSinceFirstTrade, { passed: false, value: '0' });
  });

  it('closed positions: 19 fails, 20 and 21 pass; a partial close or an open is no closed position', () => {
    assert.deepEqual(verdict(history({ fills: closes(19) })).closedPositions, { passed: false, value: '19' });
    assert.deepEqual(verdict(history({ fills: closes(20) })).closedPositions, { passed: true, value: '20' });
    assert.deepEqual(verdict(history({ fills: closes(21) })).closedPositions, { passed: true, value: '21' });
    const partial = [
      ...closes(19),
      { atMs: NOW - DAY_MS, action: 'close' as const, positionAfter: '0.5' },
      { atMs: NOW - DAY_MS, action: 'open' as const, positionAfter: '0' },
    ];
    assert.deepEqual(verdict(history({ fills: partial })).closedPositions, { passed: false, value: '19' });
  });

  it('30-day ROI: below 0 fails, 0 and above pass; a deposit is a flow, not a gain', () => {
    assert.deepEqual(verdict(history(moveTo('999.99'))).roi30d, { passed: false, value: '-0.00001' });
    assert.deepEqual(verdict(history(moveTo('1000'))).roi30d, { passed: true, value: '0' });
    assert.deepEqual(verdict(history(moveTo('1000.01'))).roi30d, { passed: true, value: '0.00001' });
    const deposit = {
      balances: [
        { atMs: NOW - 29 * DAY_MS, balance: '1000', flow: '1000' },
        { atMs: NOW - 10 * DAY_MS, balance: '1495', flow: '500' },
      ],
    };
    // 1000 → 995 by trading, then 500 deposited: -0.5%, not +49.5%
    assert.deepEqual(verdict(history(deposit)).roi30d, { passed: false, value: '-0.005' });
  });

  it('30-day max drawdown: 0.5 passes, above fails, below passes; a fall before the window does not count', () => {
    assert.deepEqual(verdict(history(moveTo('1200', '500'))).maxDrawdown30d, { passed: true, value: '0.5' });
    assert.deepEqual(verdict(history(moveTo('1200', '499.99'))).maxDrawdown30d, {
      passed: false,
      value: '0.50001',
    });
    assert.deepEqual(verdict(history(moveTo('1200', '500.01'))).maxDrawdown30d, {
      passed: true,
      value: '0.49999',
    });
    const old = {
      balances: [
        { atMs: NOW - 60 * DAY_MS, balance: '1000', flow: '1000' },
        { atMs: NOW - 40 * DAY_MS, balance: '100', flow: '0' },
        { atMs: NOW - 29 * DAY_MS, balance: '100', flow: '0' },
        { atMs: NOW - DAY_MS, balance: '110', flow: '0' },
      ],
    };
    assert.deepEqual(verdict(history(old)).maxDrawdown30d, { passed: true, value: '0' });
  });

  it('trading balance: 499.99 fails, 500 and 500.01 pass', () => {
    assert.deepEqual(verdict(history(), '499.99').tradingBalance, { passed: false, value: '499.99' });
    assert.deepEqual(verdict(history(), '500').tradingBalance, { passed: true, value: '500' });
    assert.deepEqual(verdict(history(), '500.01').tradingBalance, { passed: true, value: '500.01' });
  });

  it('the failing criteria are named for people', () => {
    const e = eligibility(summarizeHistory(history({ fills: closes(3) }), '100', NOW));
    assert.equal(failedCriteria(e.criteria), 'closedPositions 3 < 20; tradingBalance 100 < 500');
  });
});

describe('lead applications, parsed', () => {
  const good = {
    instruments: ['BTC-USDT-SWAP'],
    profitShareRatio: '0.10',
    visibility: 'public',
    minCopyAmount: '50.0',
    signalSource: 'frames',
  };

  it('a public application, normalised', () => {
    assert.deepEqual(parseLeadApplication(good), {
      instruments: ['BTC-USDT-SWAP'],
      profitShareRatio: '0.1',
      visibility: 'public',
      minCopyAmount: '50',
      signalSource: 'frames',
      onLiquidation: 'close',
    });
  });

  it('a private one needs invite terms, a public one may not have them', () => {
    assert.deepEqual(
      parseLeadApplication({ ...good, visibility: 'private', invite: { uses: 5, expiresInDays: 7 } }).invite,
      { uses: 5, expiresInDays: 7 },
    );
    assert.throws(
      () => parseLeadApplication({ ...good, visibility: 'private' }),
      /invite: a private program/,
    );
    assert.throws(
      () => parseLeadApplication({ ...good, invite: { uses: 5, expiresInDays: 7 } }),
      /invite: only a private/,
    );
  });

  it('each bad field is named', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...good, instruments: [] }, /^instruments: expected a non-empty list/],
      [{ ...good, profitShareRatio: '0.5' }, /^profitShareRatio: expected a decimal string from 0 to 0.3/],
      [{ ...good, visibility: 'secret' }, /^visibility: expected one of/],
      [{ ...good, minCopyAmount: '-1' }, /^minCopyAmount: expected a decimal string/],
      [{ ...good, minCopyAmount: 50 }, /^minCopyAmount/],
      [{ ...good, signalSource: 'both' }, /^signalSource: expected one of/],
      [{ ...good, extra: 1 }, /^extra: unknown field/],
      [
        { ...good, visibility: 'private', invite: { uses: 0, expiresInDays: 7 } },
        /^invite.uses: expected an integer/,
      ],
    ];
    for (const [body, message] of cases) {
      assert.throws(
        () => parseLeadApplication(body),
        (err: unknown) => err instanceof SettingsError && message.test(err.message),
        JSON.stringify(body),
      );
    }
  });

  it("approval gives the level's copier cap and refuses a share above the level's", () => {
    const l1 = DEFAULT_LEVEL_RULES[0] as (typeof DEFAULT_LEVEL_RULES)[number];
    const lead = leadSettingsOf('u1', parseLeadApplication(good), l1);
    assert.equal(lead.maxCopiers, 100);
    assert.throws(
      () => leadSettingsOf('u1', parseLeadApplication({ ...good, profitShareRatio: '0.15' }), l1),
      /level 1 allows a profit share of at most 0.1/,
    );
    const l2 = DEFAULT_LEVEL_RULES[1] as (typeof DEFAULT_LEVEL_RULES)[number];
    assert.deepEqual(settingsAtLevel({ ...lead, profitShareRatio: '0.3' }, l2), {
      ...lead,
      maxCopiers: 500,
      profitShareRatio: '0.15',
    });
  });
});

describe('lead settings', () => {
  it('defaults are the issue’s; the level table parses and refuses nonsense', () => {
    const c = loadConfig({});
    assert.equal(c.leadMinDays, 30);
    assert.equal(c.leadMinClosedPositions, 20);
    assert.equal(c.leadMinRoi30d, '0');
    assert.equal(c.leadMaxDrawdown30d, '0.5');
    assert.equal(c.leadMinBalance, '500');
    assert.deepEqual(c.leadLevels, DEFAULT_LEVEL_RULES);
    assert.equal(loadConfig({ TF_LEAD_MIN_ROI_30D: '-0.1' }).leadMinRoi30d, '-0.1');
    assert.throws(() => loadConfig({ TF_LEAD_LEVELS: '100:0.5' }), /TF_LEAD_LEVELS: level 1/);
    assert.throws(() => loadConfig({ TF_LEAD_LEVELS: '100:0.1,500:0.15:x:1:7' }), /TF_LEAD_LEVELS: level 2/);
  });
});
