import type { HistorySummary } from './eligibility.js';
import { type CashFlow, type EquityPoint, inWindow, maxDrawdown, navCurve, roi } from './nav.js';

/**
 * An exchange account's trade history summed up for eligibility.ts. Pure: the adapter
 * (leads/eligibility-check.ts) reads the history and the wallet from the exchange.
 *
 * - first trade: the first fill ever (`firstFillMs`, which outlives the fills the exchange
 *   dropped), else the earliest fill given;
 * - closed positions: close legs that left their position at 0 (a partial close is not a
 *   closed position);
 * - 30-day ROI and max drawdown: nav.ts over the wallet's balance points, each deposit or
 *   withdrawal a flow (money moved in or out is not performance);
 * - trading balance: the wallet now, as the exchange reports it.
 */

export interface HistoryInput {
  firstFillMs: number | null;
  fills: readonly { atMs: number; action: 'open' | 'close'; positionAfter: string }[];
  balances: readonly { atMs: number; balance: string; flow: string }[];
}

const isZero = (v: string): boolean => /^-?0*(\.0*)?$/.test(v);

export function summarizeHistory(history: HistoryInput, tradingBalance: string, now: number): HistorySummary {
  let first = history.firstFillMs;
  for (const f of history.fills) if (first === null || f.atMs < first) first = f.atMs;
  const closedPositions = history.fills.filter((f) => f.action === 'close' && isZero(f.positionAfter)).length;
  const points: EquityPoint[] = history.balances.map((b) => ({ at: b.atMs, equity: b.balance }));
  const flows: CashFlow[] = history.balances
    .filter((b) => !isZero(b.flow))
    .map((b) => ({ at: b.atMs, amount: b.flow }));
  const window = inWindow(navCurve(points, flows), '30d', now);
  return {
    firstTradeAt: first,
    now,
    closedPositions,
    roi30d: roi(window),
    maxDrawdown30d: maxDrawdown(window),
    tradingBalance,
  };
}
