import { Decimal } from 'decimal.js';
import { isDecimalString, type Money, money } from '../../domain/money.js';

/**
 * A lead's performance as a NAV curve (net asset value per unit, time-weighted), so that
 * deposits and withdrawals do not move ROI: a deposit buys units at the current NAV, a
 * withdrawal sells them, and only trading moves the value of a unit.
 *
 * Rules, in the order navCurve applies them:
 * 1. Snapshots are sorted by time; NAV is 1 at the first. Flows at or before the first
 *    snapshot are already in its equity and are ignored, as are flows after the last.
 * 2. A flow is attributed to the first snapshot at or after it: a flow in (t_{i-1}, t_i]
 *    is taken as made just before snapshot i, so equity_i includes it (a flow at exactly
 *    t_i is in the snapshot). F_i is the sum of those flows, deposits positive, withdrawals
 *    negative. Gains a deposit made before snapshot i count as gains of the period.
 * 3. NAV_i = NAV_{i-1} × (equity_i − F_i) / equity_{i-1}.
 * 4. equity_{i-1} = 0 (an empty account: nothing was at risk): NAV_i = NAV_{i-1}.
 * 5. A negative factor (losses beyond what was in the account) is taken as 0: the units
 *    are worth nothing, and NAV stays 0 from then on (a wiped-out history is not forgiven).
 *
 * Precision: Money (decimal.js, 50 significant digits, each operation rounded down); NAV is
 * reported to NAV_PLACES places, rounded down. Ratios (ROI, drawdown, Sharpe, win rate) are
 * decimal strings to RATIO_PLACES places, rounded against the trader: ROI, Sharpe and win
 * rate toward −∞, drawdown toward +∞, so a rounded value never flatters a threshold check.
 */

/** Equity of the trading account at a moment (ms since the epoch), USDT. */
export interface EquityPoint {
  at: number;
  equity: string;
}

/** Money moved into (positive) or out of (negative) the account, USDT. */
export interface CashFlow {
  at: number;
  amount: string;
}

export interface NavPoint {
  at: number;
  nav: string;
}

export const NAV_PLACES = 18;
export const RATIO_PLACES = 8;
export const DAY_MS = 86_400_000;
export const WINDOW_DAYS = { '7d': 7, '30d': 30, '90d': 90 } as const;
export type WindowName = keyof typeof WINDOW_DAYS;

function amount(value: string, what: string): Money {
  if (!isDecimalString(value)) throw new RangeError(`${what}: expected a decimal string, got "${value}"`);
  return money(value);
}

function time(at: number, what: string): number {
  if (!Number.isSafeInteger(at)) throw new RangeError(`${what}: expected a time in ms, got ${at}`);
  return at;
}

export function navCurve(points: readonly EquityPoint[], flows: readonly CashFlow[]): NavPoint[] {
  const snaps = points
    .map((p) => {
      const equity = amount(p.equity, 'equity');
      if (equity.isNeg()) throw new RangeError(`equity: must not be negative, got "${p.equity}"`);
      return { at: time(p.at, 'equity point'), equity };
    })
    .sort((a, b) => a.at - b.at);
  const moves = flows
    .map((f) => ({ at: time(f.at, 'cash flow'), amount: amount(f.amount, 'cash flow') }))
    .sort((a, b) => a.at - b.at);
  const out: NavPoint[] = [];
  let nav = money(1);
  let k = 0;
  for (let i = 0; i < snaps.length; i++) {
    const snap = snaps[i] as (typeof snaps)[number];
    let flow = money(0);
    while (k < moves.length && (moves[k] as (typeof moves)[number]).at <= snap.at) {
      if (i > 0) flow = flow.plus((moves[k] as (typeof moves)[number]).amount);
      k++;
    }
    if (i > 0) {
      const before = (snaps[i - 1] as (typeof snaps)[number]).equity;
      if (!before.isZero()) {
        const factor = snap.equity.minus(flow).div(before);
        nav = factor.isNeg() ? money(0) : nav.times(factor);
      }
    }
    out.push({ at: snap.at, nav: nav.toDecimalPlaces(NAV_PLACES, Decimal.ROUND_DOWN).toFixed() });
  }
  return out;
}

/** The points of `curve` in [now − days, now], both ends included. */
export function inWindow(curve: readonly NavPoint[], name: WindowName, now: number): NavPoint[] {
  const from = now - WINDOW_DAYS[name] * DAY_MS;
  return curve.filter((p) => p.at >= from && p.at <= now);
}

const ratio = (v: Money, rounding: Decimal.Rounding): string =>
  v.toDecimalPlaces(RATIO_PLACES, rounding).toFixed();

/**
 * NAV_last / NAV_first − 1 over the points given (a window). Fewer than 2 points: '0'
 * (nothing moved). A window starting at NAV 0 (wiped out before it): '-1'.
 */
export function roi(points: readonly NavPoint[]): string {
  if (points.length < 2) return '0';
  const first = money((points[0] as NavPoint).nav);
  if (first.isZero()) return '-1';
  return ratio(
    money((points[points.length - 1] as NavPoint).nav)
      .div(first)
      .minus(1),
    Decimal.ROUND_FLOOR,
  );
}

/**
 * The largest (peak − trough) / peak over the points given, peak the highest NAV before the
 * trough: a fraction from 0 (never fell) to 1 (fell to 0). Fewer than 2 points: '0'; a window
 * starting at NAV 0: '1'.
 */
export function maxDrawdown(points: readonly NavPoint[]): string {
  if (points.length < 2) return '0';
  let peak = money((points[0] as NavPoint).nav);
  if (peak.isZero()) return '1';
  let worst = money(0);
  for (const p of points) {
    const nav = money(p.nav);
    if (nav.gt(peak)) peak = nav;
    const fall = peak.minus(nav).div(peak);
    if (fall.gt(worst)) worst = fall;
  }
  return ratio(worst, Decimal.ROUND_CEIL);
}

/**
 * Daily returns of NAV: the last NAV of each UTC day, r_d = NAV_d / NAV_{d'} − 1 with d' the
 * previous day that has a point (a gap of days gives one return). A previous NAV of 0 gives 0.
 */
export function dailyReturns(points: readonly NavPoint[]): Money[] {
  const byDay = new Map<number, NavPoint>();
  for (const p of [...points].sort((a, b) => a.at - b.at)) byDay.set(Math.floor(p.at / DAY_MS), p);
  const navs = [...byDay.values()].map((p) => money(p.nav));
  const out: Money[] = [];
  for (let i = 1; i < navs.length; i++) {
    const prev = navs[i - 1] as Money;
    out.push(prev.isZero() ? money(0) : (navs[i] as Money).div(prev).minus(1));
  }
  return out;
}

/**
 * Annualised Sharpe ratio of the daily returns, risk-free rate 0:
 *   mean(r) / s(r) × √365, with s the sample standard deviation √(Σ(r − mean)² / (n − 1)).
 * null (not defined) for fewer than 2 returns or s = 0.
 */
export function sharpe(points: readonly NavPoint[]): string | null {
  const r = dailyReturns(points);
  if (r.length < 2) return null;
  const n = r.length;
  const mean = r.reduce((a, b) => a.plus(b), money(0)).div(n);
  const variance = r.reduce((a, b) => a.plus(b.minus(mean).pow(2)), money(0)).div(n - 1);
  if (variance.isZero()) return null;
  return ratio(mean.div(variance.sqrt()).times(money(365).sqrt()), Decimal.ROUND_FLOOR);
}

/** Profitable closed positions (PnL > 0) / closed positions; null when none is closed. */
export function winRate(closedPnls: readonly string[]): string | null {
  if (closedPnls.length === 0) return null;
  const wins = closedPnls.filter((p) => amount(p, 'closed PnL').gt(0)).length;
  return ratio(money(wins).div(closedPnls.length), Decimal.ROUND_FLOOR);
}
