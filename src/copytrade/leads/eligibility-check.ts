import type { ExchangeClient } from '../../clients/exchange.js';
import { DownstreamError } from '../../clients/http-json.js';
import type { CopySettings } from '../../config.js';
import { type Eligibility, type EligibilityThresholds, eligibility } from '../domain/eligibility.js';
import { summarizeHistory } from '../domain/history-summary.js';

/**
 * A user's eligibility to lead, from its exchange account: the trade history (fills,
 * balance points) and the wallet now, summed up by history-summary.ts and judged by
 * eligibility.ts against the settings' thresholds. An account the exchange does not know
 * has never traded and holds nothing.
 */

export type HistoryExchange = Pick<ExchangeClient, 'history' | 'positions'>;

export const eligibilityThresholds = (config: CopySettings): EligibilityThresholds => ({
  minDaysSinceFirstTrade: config.leadMinDays,
  minClosedPositions: config.leadMinClosedPositions,
  minRoi30d: config.leadMinRoi30d,
  maxDrawdown30d: config.leadMaxDrawdown30d,
  minTradingBalance: config.leadMinBalance,
});

const unknownAccount = (err: unknown): boolean =>
  err instanceof DownstreamError && err.code === 'UNKNOWN_ACCOUNT';

export async function checkEligibility(
  exchange: HistoryExchange,
  account: string,
  thresholds: EligibilityThresholds,
  now: number,
): Promise<Eligibility> {
  try {
    const [history, wallet] = await Promise.all([exchange.history(account), exchange.positions(account)]);
    return eligibility(summarizeHistory(history, wallet.balances.USDT ?? '0', now), thresholds);
  } catch (err) {
    if (!unknownAccount(err)) throw err;
    return eligibility(
      summarizeHistory({ firstFillMs: null, fills: [], balances: [] }, '0', now),
      thresholds,
    );
  }
}
