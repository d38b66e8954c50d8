import { isDecimalString, money } from '../../domain/money.js';
import { DAY_MS } from './nav.js';

/**
 * Whether a user may become a lead, from a summary of their trade history on the exchange.
 * Every criterion is returned with the value it was decided on, so a refusal says which
 * threshold failed and by how much. Thresholds are settings: the caller passes them (the
 * defaults below are the product's), this module never reads configuration.
 *
 * The decision is taken on the value recorded: ROI and drawdown arrive as nav.ts reports
 * them (8 places, rounded against the trader), so a reader can check each verdict by eye.
 */

export interface HistorySummary {
  /** ms since the epoch of the user's first trade; null: has never traded */
  firstTradeAt: number | null;
  /** the moment of the check, ms since the epoch */
  now: number;
  closedPositions: number;
  /** nav.ts roi over the 30-day window, a decimal string */
  roi30d: string;
  /** nav.ts maxDrawdown over the 30-day window, a fraction */
  maxDrawdown30d: string;
  /** USDT in the trading account */
  tradingBalance: string;
}

export interface EligibilityThresholds {
  minDaysSinceFirstTrade: number;
  minClosedPositions: number;
  minRoi30d: string;
  maxDrawdown30d: string;
  minTradingBalance: string;
}

export const DEFAULT_ELIGIBILITY_THRESHOLDS: Readonly<EligibilityThresholds> = Object.freeze({
  minDaysSinceFirstTrade: 30,
  minClosedPositions: 20,
  minRoi30d: '0',
  maxDrawdown30d: '0.5',
  minTradingBalance: '500',
});

export type CriterionName =
  | 'daysSinceFirstTrade'
  | 'closedPositions'
  | 'roi30d'
  | 'maxDrawdown30d'
  | 'tradingBalance';

export interface Criterion {
  name: CriterionName;
  /** the user's value, a decimal string */
  value: string;
  /** the bound it is compared with: `≥` for all but maxDrawdown30d, which is `≤` */
  threshold: string;
  comparison: '>=' | '<=';
  passed: boolean;
}

export interface Eligibility {
  eligible: boolean;
  criteria: Criterion[];
}

function decimal(value: string, what: string) {
  if (!isDecimalString(value)) throw new RangeError(`${what}: expected a decimal string, got "${value}"`);
  return money(value);
}

function count(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${what}: expected a count, got ${value}`);
  return value;
}

/** Whole days from the first trade to now (a partial day does not count); 0 if never traded. */
export function daysSince(firstTradeAt: number | null, now: number): number {
  if (firstTradeAt === null || now <= firstTradeAt) return 0;
  return Math.floor((now - firstTradeAt) / DAY_MS);
}

function atLeast(name: CriterionName, value: string, threshold: string): Criterion {
  const passed = decimal(value, name).gte(decimal(threshold, `${name} threshold`));
  return { name, value, threshold, comparison: '>=', passed };
}

function atMost(name: CriterionName, value: string, threshold: string): Criterion {
  const passed = decimal(value, name).lte(decimal(threshold, `${name} threshold`));
  return { name, value, threshold, comparison: '<=', passed };
}

export function eligibility(
  history: HistorySummary,
  thresholds: EligibilityThresholds = DEFAULT_ELIGIBILITY_THRESHOLDS,
): Eligibility {
  const days = daysSince(history.firstTradeAt, history.now);
  const criteria = [
    atLeast('daysSinceFirstTrade', String(days), String(count(thresholds.minDaysSinceFirstTrade, 'days'))),
    atLeast(
      'closedPositions',
      String(count(history.closedPositions, 'closedPositions')),
      String(count(thresholds.minClosedPositions, 'closedPositions threshold')),
    ),
    atLeast('roi30d', history.roi30d, thresholds.minRoi30d),
    atMost('maxDrawdown30d', history.maxDrawdown30d, thresholds.maxDrawdown30d),
    atLeast('tradingBalance', history.tradingBalance, thresholds.minTradingBalance),
  ];
  return { eligible: criteria.every((c) => c.passed), criteria };
}

/**
 * What an eligible lead may offer, by level. A lead is at the highest level whose
 * requirements it meets, L1 needing none beyond eligibility (levelOf does not check it):
 * - average AUM (copiers' funds following the lead, USDT) over the last 90 days strictly
 *   above `minAverageAum90d`;
 * - at least `minCopiers` copiers on each of the last `copiersForDays` days.
 */
export interface LevelRule {
  level: 1 | 2 | 3;
  maxCopiers: number;
  profitShareRatio: string;
  minAverageAum90d: string | null;
  minCopiers: number;
  copiersForDays: number;
}

export const DEFAULT_LEVEL_RULES: readonly LevelRule[] = Object.freeze([
  {
    level: 1,
    maxCopiers: 100,
    profitShareRatio: '0.1',
    minAverageAum90d: null,
    minCopiers: 0,
    copiersForDays: 0,
  },
  {
    level: 2,
    maxCopiers: 500,
    profitShareRatio: '0.15',
    minAverageAum90d: '20000',
    minCopiers: 100,
    copiersForDays: 7,
  },
  {
    level: 3,
    maxCopiers: 1000,
    profitShareRatio: '0.3',
    minAverageAum90d: '100000',
    minCopiers: 500,
    copiersForDays: 7,
  },
] as const);

export interface LevelInput {
  /** average over the last 90 days of the AUM following the lead, USDT */
  averageAum90d: string;
  /** copiers at the end of each day, oldest first, the last entry the most recent day */
  dailyCopiers: readonly number[];
}

function meets(rule: LevelRule, input: LevelInput): boolean {
  if (rule.minAverageAum90d !== null) {
    const aum = decimal(input.averageAum90d, 'averageAum90d');
    if (!aum.gt(decimal(rule.minAverageAum90d, `L${rule.level} minAverageAum90d`))) return false;
  }
  if (rule.copiersForDays === 0) return true;
  if (input.dailyCopiers.length < rule.copiersForDays) return false;
  return input.dailyCopiers
    .slice(-rule.copiersForDays)
    .every((n) => count(n, 'dailyCopiers') >= rule.minCopiers);
}

/** The highest level of `rules` that `input` meets; the lowest rule when it meets none. */
export function levelOf(input: LevelInput, rules: readonly LevelRule[] = DEFAULT_LEVEL_RULES): LevelRule {
  const sorted = [...rules].sort((a, b) => a.level - b.level);
  if (sorted.length === 0) throw new RangeError('levelOf: no level rules');
  let best = sorted[0] as LevelRule;
  for (const rule of sorted) if (meets(rule, input)) best = rule;
  return best;
}
