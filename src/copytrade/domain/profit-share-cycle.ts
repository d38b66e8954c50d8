import { SCALE } from '../../domain/money.js';
import { type Fx, fx, fxStr, ONE, truncTo } from './fixed.js';
import { profitShare } from './profit-share.js';

/**
 * A profit-share settlement cycle with a high-water mark (issue 12), pure: the I/O (reading
 * slices, calling the funding service, storing statements) is the caller's. Per (copier,
 * trader) pair:
 *
 * 1. Withholding. Each close of that trader's slices at a profit (ClosedPart.pnl, net of
 *    fees) moves profitShare(pnl, ratio at the close) — rounded down to 8 places — from the
 *    copier into the pair's escrow (`withhold`). A loss withholds nothing.
 * 2. Escrow between cycles = withheld − paid − refunded (the totals in PairState); it is 0
 *    right after every settlement, and only grows while a pair is deferred.
 * 3. High-water mark (HWM) = the cumulative realised PnL level the trader has already been
 *    paid up to; it starts at 0 and never falls. A settlement pays
 *    floor8(ratio × max(cumulativePnl − HWM, 0)) and raises the HWM to max(HWM, cumulativePnl).
 *    With one ratio this is exactly max(cumulativePnl × ratio − already paid, 0) (issue's
 *    rule: +200 pays 20 at 10%, then +50 pays 0, then +300 pays 10 more).
 * 4. Ratio change: the ratio in force at the cut-off applies to the increment above the HWM,
 *    never to PnL below it: a new ratio is not retroactive, as with a fund's performance fee
 *    over a high-water mark. So what was paid at an old ratio is never re-priced (the issue's
 *    cumulativePnl × ratio − paid would re-price past gains at the new ratio), and no PnL
 *    level is paid twice, whatever the ratio history.
 * 5. The payout is capped by the escrow: the copier has only agreed to what was withheld
 *    (a ratio raised between a close and the cut-off, or per-close rounding dust, can make the
 *    share exceed it). The HWM still rises in full: the shortfall is not carried to later
 *    cycles, so a trader is never paid for a level twice. refund = escrow − payout.
 * 6. Rounding: withholdings and payouts are rounded down to 8 places (the trader's payout
 *    down); the refund is the exact remainder, so payout + refund = escrow: money is conserved,
 *    and neither leg is ever negative.
 * 7. Deferral: a pair with an open slice of that trader at the cut-off is not settled; its
 *    escrow and HWM carry to the first cycle at which it is flat. Stopping a follow settles
 *    the pair at once, open slice or not.
 * 8. Periods and idempotency keys: a cycle is 'weekly' (cut-off Monday 00:00 UTC, period id
 *    the ISO week, `2026-W49`) or 'daily' (cut-off 00:00 UTC, period id the UTC date,
 *    `2026-12-03`). A cut-off settles the period that ends at it; a stop settles under the
 *    period it falls in. The funding calls' keys are (copier, trader, period, leg), so a pair
 *    is settled at most once per period: a settlement for a period the pair was already
 *    settled in (a stop, then the cut-off ending that period; or a second stop) is deferred,
 *    its escrow kept for the next period — reusing the key would make the funding service
 *    answer the first call's reply and drop the money.
 */

export type Cycle = 'daily' | 'weekly';

export interface PairState {
  /** USDT: the cumulative PnL level already paid up to (≥ 0, never falls) */
  highWaterMark: string;
  /** USDT totals over the pair's life */
  withheld: string;
  paid: string;
  refunded: string;
  /** the last period this pair was settled in (null before the first settlement) */
  lastSettled: string | null;
}

export interface SettleInput {
  /** the period id this settlement is for: periodEndingAt(cut-off) or periodOf(stop time) */
  period: string;
  /** the lead's profit-share ratio now, in [0, 1] */
  ratio: string;
  /** Σ realised PnL, net of fees, of this trader's slices for this copier, over the pair's life */
  cumulativePnl: string;
  /** does the copier hold an open slice of this trader now */
  open: boolean;
  /** 'cycle': at a cut-off; 'stop': the follow was stopped */
  by: 'cycle' | 'stop';
}

/** What a pair reports for a period, settled or not; amounts are USDT decimal strings. */
export interface Statement {
  period: string;
  status: 'settled' | 'deferred';
  cumulativePnl: string;
  /** after this settlement */
  highWaterMark: string;
  /** totals over the pair's life, after this settlement */
  withheld: string;
  paid: string;
  refunded: string;
  /** this settlement's legs ('0' when deferred) */
  payout: string;
  refund: string;
  /** left in escrow after this settlement ('0' when settled) */
  escrow: string;
}

export type Settlement =
  | { kind: 'settled'; statement: Statement; payout: string; refund: string; next: PairState }
  | { kind: 'deferred'; reason: 'open-slice' | 'period-settled'; statement: Statement; next: PairState };

export const emptyPair = (): PairState => ({
  highWaterMark: '0',
  withheld: '0',
  paid: '0',
  refunded: '0',
  lastSettled: null,
});

/** The escrow balance between cycles: withheld − paid − refunded. */
export const escrowOf = (s: PairState): string => fxStr(fx(s.withheld) - fx(s.paid) - fx(s.refunded));

/** Step 1: a close of this trader's slice (pnl net of fees) withholds its share. */
export function withhold(s: PairState, pnl: string, ratio: string): PairState {
  const share = fx(profitShare(pnl, checkedRatio(ratio)));
  return share === 0n ? s : { ...s, withheld: fxStr(fx(s.withheld) + share) };
}

/** Steps 3-7 for one pair at a cut-off or a stop. */
export function settlePair(s: PairState, input: SettleInput): Settlement {
  const ratio = fx(checkedRatio(input.ratio));
  const cumulative = fx(input.cumulativePnl);
  const escrow = fx(escrowOf(s));
  if (escrow < 0n) throw new RangeError(`pair escrow is negative (${fxStr(escrow)}): corrupt state`);
  const base = { period: input.period, cumulativePnl: fxStr(cumulative) };
  const reason =
    s.lastSettled === input.period
      ? 'period-settled'
      : input.open && input.by === 'cycle'
        ? 'open-slice'
        : null;
  if (reason !== null) {
    const statement: Statement = {
      ...base,
      status: 'deferred',
      highWaterMark: s.highWaterMark,
      withheld: s.withheld,
      paid: s.paid,
      refunded: s.refunded,
      payout: '0',
      refund: '0',
      escrow: fxStr(escrow),
    };
    return { kind: 'deferred', reason, statement, next: s };
  }
  const hwm = fx(s.highWaterMark);
  const above = cumulative > hwm ? cumulative - hwm : 0n;
  const share = truncTo((above * ratio) / ONE, SCALE);
  const payout = least(share, escrow);
  const refund = escrow - payout;
  const next: PairState = {
    highWaterMark: fxStr(hwm + above),
    withheld: s.withheld,
    paid: fxStr(fx(s.paid) + payout),
    refunded: fxStr(fx(s.refunded) + refund),
    lastSettled: input.period,
  };
  const statement: Statement = {
    ...base,
    status: 'settled',
    highWaterMark: next.highWaterMark,
    withheld: next.withheld,
    paid: next.paid,
    refunded: next.refunded,
    payout: fxStr(payout),
    refund: fxStr(refund),
    escrow: '0',
  };
  return { kind: 'settled', statement, payout: fxStr(payout), refund: fxStr(refund), next };
}

/** min of two bigints (Math.min takes numbers only) */
function least(a: Fx, b: Fx): Fx {
  if (a < b) return a;
  return b;
}

function checkedRatio(ratio: string): string {
  const r = fx(ratio);
  if (r < 0n || r > ONE) throw new RangeError(`profit-share ratio must be in [0, 1], got "${ratio}"`);
  return ratio;
}

/** Ids are 1-64 of A-Z a-z 0-9 _ . - (fields.ts), so `:` separates the parts unambiguously. */
const ID = /^[A-Za-z0-9_.-]{1,64}$/;
const PERIOD = /^\d{4}-(W\d{2}|\d{2}-\d{2})$/;

/**
 * The funding service's idempotency key of one leg of a pair's settlement for a period:
 * `ps:{copierId}:{traderId}:{period}:{leg}` — the part before the last `:` names the
 * settlement, as `{orderId}:{step}` names an order's step.
 */
export function profitShareKey(
  copierId: string,
  traderId: string,
  period: string,
  leg: 'payout' | 'refund',
): string {
  for (const id of [copierId, traderId]) {
    if (!ID.test(id))
      throw new RangeError(`expected an id of 1-64 characters of A-Z a-z 0-9 _ . -, got "${id}"`);
  }
  if (!PERIOD.test(period))
    throw new RangeError(`expected a period id like 2026-W49 or 2026-12-03, got "${period}"`);
  return `ps:${copierId}:${traderId}:${period}:${leg}`;
}

const DAY = 86_400_000;
const WEEK = 7 * DAY;
/** 1970-01-05, a Monday: the weekly cut-offs are this plus whole weeks */
const FIRST_MONDAY = 4 * DAY;

function checkedTime(ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw new RangeError(`expected a time in ms since the epoch, got ${ms}`);
  return ms;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** The period id of the instant `ms`: ISO week (`2026-W49`) or UTC date (`2026-12-03`). */
export function periodOf(ms: number, cycle: Cycle): string {
  const d = new Date(checkedTime(ms));
  if (cycle === 'daily') {
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
  }
  // ISO 8601: a week belongs to the year of its Thursday; week 1 holds the year's first Thursday
  const day = Math.floor(ms / DAY);
  const mondayBased = (new Date(day * DAY).getUTCDay() + 6) % 7;
  const thursday = day - mondayBased + 3;
  const isoYear = new Date(thursday * DAY).getUTCFullYear();
  const jan1 = Date.UTC(isoYear, 0, 1) / DAY;
  return `${isoYear}-W${pad(Math.floor((thursday - jan1) / 7) + 1, 2)}`;
}

/** The first cut-off strictly after `ms`. */
export function nextCutoff(ms: number, cycle: Cycle): number {
  checkedTime(ms);
  if (cycle === 'daily') return (Math.floor(ms / DAY) + 1) * DAY;
  return FIRST_MONDAY + (Math.floor((ms - FIRST_MONDAY) / WEEK) + 1) * WEEK;
}

/** The period a cut-off closes: the one its last millisecond belongs to. */
export const periodEndingAt = (cutoffMs: number, cycle: Cycle): string => periodOf(cutoffMs - 1, cycle);

/** The cut-offs in (fromMs, toMs], in order: what a settlement job that was down must catch up. */
export function cutoffsBetween(fromMs: number, toMs: number, cycle: Cycle): number[] {
  checkedTime(toMs);
  if (toMs < fromMs) throw new RangeError(`cutoffsBetween: ${toMs} is before ${fromMs}`);
  const out: number[] = [];
  for (let c = nextCutoff(fromMs, cycle); c <= toMs; c = nextCutoff(c, cycle)) out.push(c);
  return out;
}
