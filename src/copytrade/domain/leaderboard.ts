import { Decimal } from 'decimal.js';
import { type Money, money } from '../../domain/money.js';
import {
  type CashFlow,
  DAY_MS,
  type EquityPoint,
  inWindow,
  maxDrawdown,
  type NavPoint,
  navCurve,
  RATIO_PLACES,
  roi,
  sharpe,
  WINDOW_DAYS,
  type WindowName,
  winRate,
} from './nav.js';
import type { PositionSide, TraderSignal } from './signal.js';

/**
 * A lead's leaderboard entry for one window (7d, 30d, 90d ending at `asOf`), pure: what the
 * MySQL history (leaderboard/history.ts) gives in, the metrics out. Formulas:
 *
 * - roi, maxDrawdown, sharpe: of the lead account's NAV curve in the window (nav.ts: deposits
 *   and withdrawals do not move it; Sharpe = mean / sample stdev of daily returns × √365).
 * - pnl: equity_last − equity_first − flows in (first, last] of the lead's snapshots in the
 *   window: realised and unrealised (equity holds both), net of fees, flows taken out.
 * - winRate: closed positions in the window (closedMs in it) with PnL > 0, over closed
 *   positions; a position is closed by the close that takes it to 0 (closedPositions).
 * - aum: the lead's equity plus its copiers' copy equity, at their last snapshots ≤ asOf. A
 *   copier's copy equity for this lead is its account's equity × share, share = 1 / (number
 *   of leads the account follows, active or paused): the whole account when it follows only
 *   this lead, an equal part of it otherwise (slices do not carry their margin).
 * - copiers: active follows; vacancy = max(maxCopiers − copiers, 0).
 * - copiersPnl: Σ over the current (active or paused) copiers of share × the pnl of their
 *   account in the window (as pnl above).
 * - copyQuality.roiRatio: the mean of the copiers' account ROI in the window (copiers with at
 *   least two snapshots in it) / the lead's ROI; null when the lead's ROI is 0 or no copier has one.
 * - copyQuality.entrySlippageBps: the mean over the copied opens in the window of
 *   (copier's fill − lead's fill) / lead's fill × 10,000 for a long, the negative of it for a
 *   short: positive is worse for the copier (paid more, sold lower); null without copies.
 * Ratios are decimal strings to RATIO_PLACES places (rounded toward −∞, as nav.ts), bps to 4
 * (toward +∞: never flattering), USDT amounts to 8 (rounded down).
 */

export const BOARD_METRICS = [
  'roi',
  'pnl',
  'winRate',
  'maxDrawdown',
  'sharpe',
  'aum',
  'copiers',
  'copyQuality',
] as const;
export type BoardMetric = (typeof BOARD_METRICS)[number];
export const BOARD_WINDOWS = Object.keys(WINDOW_DAYS) as WindowName[];

export interface CopyQuality {
  roiRatio: string | null;
  entrySlippageBps: string | null;
}

/** One lead over one window, as the board stores it and the CLI prints it. */
export interface LeadMetrics {
  traderId: string;
  roi: string;
  pnl: string;
  winRate: string | null;
  maxDrawdown: string;
  sharpe: string | null;
  aum: string;
  copiers: number;
  vacancy: number;
  copiersPnl: string;
  copyQuality: CopyQuality;
}

/** A position of the lead closed to 0: when, and its realised PnL in price × contracts (its sign is what counts). */
export interface ClosedPosition {
  closedMs: number;
  pnl: string;
}

/**
 * The filled copies of one open of the lead: its side, the lead's fill price, how many copies
 * filled and the sum of their fill prices (what the copy quality needs, without a row per copy).
 */
export interface CopiedOpen {
  at: number;
  side: PositionSide;
  leadPrice: string;
  copies: number;
  fillSum: string;
}

export interface AccountHistory {
  equity: EquityPoint[];
  flows: CashFlow[];
}

export interface CopierHistory extends AccountHistory {
  copierId: string;
  /** the part of the account's equity and PnL that counts for this lead, 0 < share ≤ 1 */
  share: string;
}

export interface LeadHistory {
  traderId: string;
  maxCopiers: number;
  /** active follows */
  copiers: number;
  lead: AccountHistory;
  closes: ClosedPosition[];
  /** the current (active or paused) copiers */
  copierAccounts: CopierHistory[];
  copies: CopiedOpen[];
}

const BPS_PLACES = 4;
const AMOUNT_PLACES = 8;
/** USDT to 8 places, rounded down (a copier's share of an account may have more) */
const amount = (v: Money): string => v.toDecimalPlaces(AMOUNT_PLACES, Decimal.ROUND_DOWN).toFixed();
const ratio = (v: Money): string => v.toDecimalPlaces(RATIO_PLACES, Decimal.ROUND_FLOOR).toFixed();

/**
 * The lead's closed positions from its signals in order: opens average the entry (weighted by
 * quantity), each close realises (price − entry) × qty (a short the other way), and the close
 * that leaves nothing (positionBefore − qty ≤ 0) ends the position with the sum of what its
 * closes realised. A close of a position whose opens are not all in `signals` (positionBefore
 * above what they add up to) ends it uncounted: its PnL is unknown.
 */
export function closedPositions(signals: readonly TraderSignal[]): ClosedPosition[] {
  const held = new Map<string, { qty: Money; entry: Money; pnl: Money; known: boolean }>();
  const out: ClosedPosition[] = [];
  for (const s of signals) {
    const key = `${s.instrument}:${s.side}`;
    const qty = money(s.qty);
    const price = money(s.price);
    let pos = held.get(key);
    if (s.action === 'open') {
      if (!pos || pos.qty.isZero()) {
        pos = { qty: money(0), entry: money(0), pnl: money(0), known: money(s.positionBefore).isZero() };
        held.set(key, pos);
      }
      const total = pos.qty.plus(qty);
      pos.entry = pos.entry.times(pos.qty).plus(price.times(qty)).div(total);
      pos.qty = total;
      continue;
    }
    const before = money(s.positionBefore);
    if (!pos || pos.qty.lt(before)) {
      pos = { qty: before, entry: money(0), pnl: money(0), known: false };
      held.set(key, pos);
    }
    const closed = Decimal.min(qty, pos.qty);
    const move = s.side === 'long' ? price.minus(pos.entry) : pos.entry.minus(price);
    pos.pnl = pos.pnl.plus(move.times(closed));
    pos.qty = pos.qty.minus(closed);
    if (before.minus(qty).lte(0) || pos.qty.isZero()) {
      if (pos.known) out.push({ closedMs: s.filledMs, pnl: pos.pnl.toFixed() });
      held.delete(key);
    }
  }
  return out;
}

/**
 * Σ over the open's copies of (fill − lead's fill) / lead's fill × 10,000, negated for a short:
 * positive is worse for the copier.
 */
export function slippageBps(c: CopiedOpen): Money {
  const lead = money(c.leadPrice);
  const diff = money(c.fillSum).minus(lead.times(c.copies)).div(lead).times(10_000);
  return c.side === 'long' ? diff : diff.neg();
}

/** The points and flows of an account inside [asOf − days, asOf]. */
function windowOf(h: AccountHistory, name: WindowName, asOf: number): AccountHistory {
  const from = asOf - WINDOW_DAYS[name] * DAY_MS;
  const within = (at: number) => at >= from && at <= asOf;
  return { equity: h.equity.filter((p) => within(p.at)), flows: h.flows.filter((f) => within(f.at)) };
}

/** equity_last − equity_first − flows in (first, last]; 0 with fewer than two points. */
export function accountPnl(h: AccountHistory): Money {
  const points = [...h.equity].sort((a, b) => a.at - b.at);
  const first = points[0];
  const last = points[points.length - 1];
  if (!first || !last || points.length < 2) return money(0);
  const flows = h.flows
    .filter((f) => f.at > first.at && f.at <= last.at)
    .reduce((a, f) => a.plus(f.amount), money(0));
  return money(last.equity).minus(first.equity).minus(flows);
}

/** The equity of the last point at or before `asOf`, 0 when there is none. */
function equityAt(points: readonly EquityPoint[], asOf: number): Money {
  let best: EquityPoint | undefined;
  for (const p of points) if (p.at <= asOf && (!best || p.at > best.at)) best = p;
  return money(best?.equity ?? 0);
}

const mean = (values: readonly Money[]): Money | null =>
  values.length === 0 ? null : values.reduce((a, b) => a.plus(b), money(0)).div(values.length);

/** The lead's NAV curve over everything in `h` (the loader gives the last 90 days and a little). */
export const leadCurve = (h: LeadHistory): NavPoint[] => navCurve(h.lead.equity, h.lead.flows);

export function leadMetrics(h: LeadHistory, name: WindowName, asOf: number): LeadMetrics {
  const nav = inWindow(leadCurve(h), name, asOf);
  const leadRoi = roi(nav);
  const from = asOf - WINDOW_DAYS[name] * DAY_MS;
  const inside = (at: number) => at >= from && at <= asOf;
  const copierRois: Money[] = [];
  let copiersPnl = money(0);
  let aum = equityAt(h.lead.equity, asOf);
  for (const c of h.copierAccounts) {
    const w = windowOf(c, name, asOf);
    copiersPnl = copiersPnl.plus(accountPnl(w).times(c.share));
    aum = aum.plus(equityAt(c.equity, asOf).times(c.share));
    if (w.equity.length >= 2) copierRois.push(money(roi(navCurve(w.equity, w.flows))));
  }
  const copierRoi = mean(copierRois);
  const copied = h.copies.filter((c) => inside(c.at) && c.copies > 0);
  const count = copied.reduce((n, c) => n + c.copies, 0);
  // the mean over copies, each open weighing as many as it had
  const slip = count === 0 ? null : copied.reduce((sum, c) => sum.plus(slippageBps(c)), money(0)).div(count);
  return {
    traderId: h.traderId,
    roi: leadRoi,
    pnl: amount(accountPnl(windowOf(h.lead, name, asOf))),
    winRate: winRate(h.closes.filter((c) => inside(c.closedMs)).map((c) => c.pnl)),
    maxDrawdown: maxDrawdown(nav),
    sharpe: sharpe(nav),
    aum: amount(aum),
    copiers: h.copiers,
    vacancy: Math.max(h.maxCopiers - h.copiers, 0),
    copiersPnl: amount(copiersPnl),
    copyQuality: {
      roiRatio: copierRoi === null || money(leadRoi).isZero() ? null : ratio(copierRoi.div(leadRoi)),
      entrySlippageBps: slip === null ? null : slip.toDecimalPlaces(BPS_PLACES, Decimal.ROUND_CEIL).toFixed(),
    },
  };
}

/**
 * Where a lead stands on a metric's board: a number to sort ascending, best first, so that
 * Redis's own order of equal scores (member bytes ascending) breaks ties by traderId.
 * Higher is better for all but maxDrawdown (lower is better); copyQuality ranks by roiRatio.
 * A metric without a value (no Sharpe yet) ranks last (+∞). The number orders only: the
 * values shown are the decimal strings of LeadMetrics.
 */
export function boardScore(m: LeadMetrics, metric: BoardMetric): number {
  const value: string | number | null =
    metric === 'copyQuality' ? m.copyQuality.roiRatio : (m[metric] as string | number | null);
  if (value === null) return Number.POSITIVE_INFINITY;
  const n = Number(value);
  return metric === 'maxDrawdown' ? n : n === 0 ? 0 : -n;
}

/** A page's position: the (score, traderId) of its last item, opaque to clients (base64url JSON). */
export interface BoardCursor {
  score: number;
  traderId: string;
}

export function encodeCursor(c: BoardCursor): string {
  return Buffer.from(JSON.stringify([String(c.score), c.traderId])).toString('base64url');
}

/** null for anything that is not a cursor this board made. */
export function decodeCursor(text: string): BoardCursor | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || typeof v[1] !== 'string')
      return null;
    const score = Number(v[0]);
    if (Number.isNaN(score) || !/^[A-Za-z0-9_.-]{1,64}$/.test(v[1])) return null;
    return { score, traderId: v[1] };
  } catch {
    return null;
  }
}
