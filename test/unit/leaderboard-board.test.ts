import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  accountPnl,
  boardScore,
  closedPositions,
  decodeCursor,
  encodeCursor,
  type LeadHistory,
  type LeadMetrics,
  leadMetrics,
  slippageBps,
} from '../../src/copytrade/domain/leaderboard.js';
import { DAY_MS } from '../../src/copytrade/domain/nav.js';
import type { TraderSignal } from '../../src/copytrade/domain/signal.js';

const T0 = Date.UTC(2025, 2, 1);
const day = (n: number): number => T0 + n * DAY_MS;

const sig = (over: Partial<TraderSignal>): TraderSignal => ({
  signalId: 's',
  traderId: 'lead',
  instrument: 'BTC-USDT-SWAP',
  action: 'open',
  side: 'long',
  qty: '1',
  price: '100',
  leverage: 10,
  positionBefore: '0',
  filledMs: day(0),
  ...over,
});

/**
 * A scripted lead. Its account (returns +25% over days −20..0, then +10%, −10%, +20%, −5%,
 * +5%; 500 deposited at the day-2 snapshot):
 *   day −20: 800       NAV 1
 *   day 0:   1000      NAV 1.25
 *   day 1:   1100      NAV 1.375
 *   day 2:   990 + 500 = 1490 (net_flow 500)   NAV 1.375 × (1490 − 500) / 1100 = 1.2375
 *   day 3:   1788      NAV 1.485
 *   day 4:   1698.6    NAV 1.41075
 *   day 5:   1783.53   NAV 1.4812875
 * Over 7 days to day 5 (day 0..5), NAV relative to day 0: 1, 1.1, 0.99, 1.188, 1.1286, 1.18503.
 */
const lead = {
  equity: [
    [-20, '800'],
    [0, '1000'],
    [1, '1100'],
    [2, '1490'],
    [3, '1788'],
    [4, '1698.6'],
    [5, '1783.53'],
  ].map(([d, equity]) => ({ at: day(d as number), equity: equity as string })),
  flows: [{ at: day(2), amount: '500' }],
};

/**
 * Its positions: long 2 @100, closed 1 @110 (+10) and 1 @90 (−10): PnL 0, not a win; short 1
 * @100 closed @95: +5, a win; long 1 @100 closed @99: −1. An ETH close of 3 whose opens are
 * not in the history is not counted. Win rate 1/3.
 */
const signals: TraderSignal[] = [
  sig({ qty: '2', filledMs: day(0) }),
  sig({ action: 'close', qty: '1', price: '110', positionBefore: '2', filledMs: day(1) }),
  sig({ action: 'close', qty: '1', price: '90', positionBefore: '1', filledMs: day(2) }),
  sig({ side: 'short', filledMs: day(3) }),
  sig({ side: 'short', action: 'close', price: '95', positionBefore: '1', filledMs: day(3) + 1000 }),
  sig({ filledMs: day(4) }),
  sig({ action: 'close', price: '99', positionBefore: '1', filledMs: day(4) + 1000 }),
  sig({ instrument: 'ETH-USDT-SWAP', action: 'close', qty: '3', positionBefore: '3', filledMs: day(4) }),
];

/**
 * Copier A follows only this lead (share 1): 200 → 220, ROI 0.1, PnL 20.
 * Copier B follows two leads (share 0.5): 400 on day 0, 500 on day 3 with 100 deposited
 * (NAV (500 − 100) / 400 = 1), 480 on day 5 (NAV 0.96): ROI −0.04, PnL 480 − 400 − 100 = −20.
 */
const history: LeadHistory = {
  traderId: 'lead',
  maxCopiers: 10,
  copiers: 2,
  lead,
  closes: closedPositions(signals),
  copierAccounts: [
    {
      copierId: 'a',
      share: '1',
      equity: [
        { at: day(0), equity: '200' },
        { at: day(5), equity: '220' },
      ],
      flows: [],
    },
    {
      copierId: 'b',
      share: '0.5',
      equity: [
        { at: day(0), equity: '400' },
        { at: day(3), equity: '500' },
        { at: day(5), equity: '480' },
      ],
      flows: [{ at: day(3), amount: '100' }],
    },
  ],
  /** +5 bps (bought dearer), +10 (sold 10 bps lower, short), −2 (bought cheaper) */
  copies: [
    { at: day(0), side: 'long', leadPrice: '100', copies: 1, fillSum: '100.05' },
    { at: day(3), side: 'short', leadPrice: '100', copies: 1, fillSum: '99.9' },
    { at: day(4), side: 'long', leadPrice: '100', copies: 1, fillSum: '99.98' },
  ],
};

describe('leaderboard metrics of a scripted history', () => {
  it('7 days: ROI, PnL, drawdown, Sharpe, win rate, AUM, copiers and copy quality by hand', () => {
    const m = leadMetrics(history, '7d', day(5));
    // ROI 1.18503 / 1 − 1
    assert.equal(m.roi, '0.18503');
    // 1783.53 − 1000 − 500 deposited
    assert.equal(m.pnl, '283.53');
    // 1.1 → 0.99
    assert.equal(m.maxDrawdown, '0.1');
    // r = 0.1, −0.1, 0.2, −0.05, 0.05; mean 0.04; s² = 0.057 / 4; 0.04 / √0.01425 × √365
    assert.equal(m.sharpe, '6.40175414');
    // 1 win (+5) of 3 closed (0, +5, −1)
    assert.equal(m.winRate, '0.33333333');
    // 1783.53 + 220 × 1 + 480 × 0.5
    assert.equal(m.aum, '2243.53');
    assert.equal(m.copiers, 2);
    assert.equal(m.vacancy, 8);
    // 20 × 1 + (−20) × 0.5
    assert.equal(m.copiersPnl, '10');
    // mean(0.1, −0.04) = 0.03; 0.03 / 0.18503 = 0.162135869…
    assert.equal(m.copyQuality.roiRatio, '0.16213586');
    // (5 + 10 − 2) / 3 = 4.333…, rounded up (against the lead)
    assert.equal(m.copyQuality.entrySlippageBps, '4.3334');
  });

  it('30 days reaches back to day −20; windows take only their own closes and copies', () => {
    const m = leadMetrics(history, '30d', day(5));
    // 1.4812875 / 1 − 1
    assert.equal(m.roi, '0.4812875');
    // 1783.53 − 800 − 500
    assert.equal(m.pnl, '483.53');
    // 1.375 → 1.2375
    assert.equal(m.maxDrawdown, '0.1');
    // as of day 10, the 7-day window holds days 3..5: NAV 1.485, 1.41075, 1.4812875
    const later = leadMetrics(history, '7d', day(10));
    assert.equal(later.roi, '-0.0025');
    // closes on day 3 and 4 only: +5 and −1
    assert.equal(later.winRate, '0.5');
    // the copies of day 3 and 4: (10 − 2) / 2
    assert.equal(later.copyQuality.entrySlippageBps, '4');
  });

  it('without copiers, closes or movement: nulls where a ratio is undefined', () => {
    const flat: LeadHistory = {
      ...history,
      lead: { equity: [{ at: day(0), equity: '100' }], flows: [] },
      closes: [],
      copierAccounts: [],
      copies: [],
      copiers: 12,
    };
    const m = leadMetrics(flat, '7d', day(5));
    assert.deepEqual(
      { roi: m.roi, pnl: m.pnl, winRate: m.winRate, sharpe: m.sharpe, vacancy: m.vacancy, q: m.copyQuality },
      {
        roi: '0',
        pnl: '0',
        winRate: null,
        sharpe: null,
        vacancy: 0,
        q: { roiRatio: null, entrySlippageBps: null },
      },
    );
  });

  it('closed positions: a partial close does not end a position; its PnL is the sum of its closes', () => {
    assert.deepEqual(
      closedPositions(signals).map((c) => [c.closedMs, c.pnl]),
      [
        [day(2), '0'],
        [day(3) + 1000, '5'],
        [day(4) + 1000, '-1'],
      ],
    );
    assert.equal(
      slippageBps({ at: 0, side: 'short', leadPrice: '200', copies: 1, fillSum: '201' }).toFixed(),
      '-50',
    );
    // two copies of one open: +5 and +3 bps, summed
    assert.equal(
      slippageBps({ at: 0, side: 'long', leadPrice: '100', copies: 2, fillSum: '200.08' }).toFixed(),
      '8',
    );
    // the mean is over copies: three of one open (+5 each) and one of another (+10): 25 / 4
    const weighted = leadMetrics(
      {
        ...history,
        copies: [
          { at: day(1), side: 'long', leadPrice: '100', copies: 3, fillSum: '300.15' },
          { at: day(3), side: 'short', leadPrice: '100', copies: 1, fillSum: '99.9' },
        ],
      },
      '7d',
      day(5),
    );
    assert.equal(weighted.copyQuality.entrySlippageBps, '6.25');
    assert.equal(
      accountPnl({ equity: [{ at: 1, equity: '5' }], flows: [{ at: 1, amount: '5' }] }).toFixed(),
      '0',
    );
  });
});

describe('board order and cursors', () => {
  const m = (over: Partial<LeadMetrics>): LeadMetrics => ({
    traderId: 'x',
    roi: '0',
    pnl: '0',
    winRate: null,
    maxDrawdown: '0',
    sharpe: null,
    aum: '0',
    copiers: 0,
    vacancy: 0,
    copiersPnl: '0',
    copyQuality: { roiRatio: null, entrySlippageBps: null },
    ...over,
  });

  it('best first ascending: higher is better but for drawdown; a missing value last', () => {
    assert.ok(boardScore(m({ roi: '0.2' }), 'roi') < boardScore(m({ roi: '0.1' }), 'roi'));
    assert.ok(
      boardScore(m({ maxDrawdown: '0.1' }), 'maxDrawdown') <
        boardScore(m({ maxDrawdown: '0.2' }), 'maxDrawdown'),
    );
    assert.equal(boardScore(m({ sharpe: null }), 'sharpe'), Number.POSITIVE_INFINITY);
    assert.ok(boardScore(m({ sharpe: '-3' }), 'sharpe') < Number.POSITIVE_INFINITY);
    assert.equal(
      boardScore(m({ copyQuality: { roiRatio: '0.9', entrySlippageBps: '1' } }), 'copyQuality'),
      -0.9,
    );
    assert.ok(Object.is(boardScore(m({ roi: '0' }), 'roi'), 0));
  });

  it('a cursor decodes to what was encoded; anything else is refused', () => {
    for (const c of [
      { score: -0.18503, traderId: 'lead-1' },
      { score: Number.POSITIVE_INFINITY, traderId: 'z' },
    ]) {
      assert.deepEqual(decodeCursor(encodeCursor(c)), c);
    }
    assert.equal(decodeCursor('nonsense'), null);
    assert.equal(decodeCursor(Buffer.from('["1","a b"]').toString('base64url')), null);
    assert.equal(decodeCursor(Buffer.from('["x","a"]').toString('base64url')), null);
  });
});

describe('the board page', () => {
  it('escapes what comes from a lead', async () => {
    const { boardPage, esc, leadPage } = await import('../../src/copytrade/leaderboard/board-page.js');
    assert.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const evil = '<img src=x onerror=alert(1)>';
    const metrics = leadMetrics(history, '7d', day(5));
    const profile = {
      traderId: evil,
      instruments: [evil],
      maxCopiers: 1,
      profitShareRatio: '0.1',
      signalSource: evil,
      status: 'approved',
      visibility: 'public',
      leadingSinceMs: null,
      daysLed: 0,
    };
    const html = boardPage(
      { metric: 'roi', window: '7d', limit: 20, cursor: null, filter: {} },
      [{ traderId: evil, score: 0, metrics: { ...metrics, traderId: evil }, profile, nav: [] }],
      null,
    );
    const page = leadPage({
      profile,
      asOf: day(5),
      metrics: { '7d': metrics, '30d': metrics, '90d': metrics },
      nav: { '7d': [], '30d': [], '90d': [] },
    });
    for (const h of [html, page]) {
      assert.ok(!h.includes('<img'), 'no markup from a lead');
      assert.ok(h.includes('&lt;img src=x onerror=alert(1)&gt;'));
    }
  });
});
