import { createHash } from 'node:crypto';
import { SCALE } from '../../domain/money.js';
import { type Fx, fx, fxStr, ONE, truncTo } from './fixed.js';
import { protectivePrices } from './protection.js';
import type { FollowSettings } from './settings.js';
import type { PositionSide } from './signal.js';
import { keptTraderId, type Slice } from './slices.js';

/**
 * Copier stops, decided on the mark price (issue 14, item 2). Pure: the watcher
 * (protection/stop-watcher.ts) hands in the book's slices, the follows and the marks, and
 * turns each trigger into a close-out request on the fan-out's stream. In order:
 *
 * 1. take profit / stop loss, per copied slice of the trader: trigger prices from the
 *    slice's average entry and the leverage its position has on the exchange
 *    (protection.ts: the follow's ratios are of the margin). A long takes profit at a mark
 *    at or above its take-profit price and stops at or below its stop price; a short the
 *    other way round. Closes that slice alone; the follow goes on.
 * 2. the equity stop, per follow: copy equity = copyFunds + the pair's PnL, where the
 *    pair's PnL = Σ realised of the pair's slices (closed ones included) + Σ unrealised of
 *    its open ones at mark, less their open fees not yet realised. At or below
 *    copyFunds × (1 − equityStopRatio): every slice of the lead closed, the follow paused.
 * 3. the daily loss limit, per follow: the loss since the UTC day began is the pair's PnL
 *    then (its `dayBase`, taken by the watcher when it first sees the follow that day)
 *    less its PnL now, which is the realised today plus the change of the unrealised. At
 *    or above dailyLossLimit: as 2.
 *
 * A follow stop (2, 3) covers every slice of the lead, so it is decided first and a slice
 * trigger of the same follow waits (its slice is being closed anyway). Nothing triggers
 * on a follow that holds no open slice of the lead: there is nothing to close (but such a
 * follow is not resumed while 2 or 3 is still reached, stop-resume.ts).
 *
 * The watcher checks at every price refresh: prepareStops computes once, per follow and
 * slices object, the trigger prices and the PnL as a constant plus Σ qty × size × mark,
 * exactly (10^-54 units, no rounding decides a stop); triggersAt compares at the marks.
 *
 * Each trigger has a request id derived from what it protects and the state it saw:
 * `{tp|sl}-{hash of the slice}`, `eq-{hash of the pair's slices}`, `day-{YYYYMMDD}-{hash}`.
 * A slice's state (quantity, entry, realised PnL, fees) changes with every fill, so a
 * trigger seen twice, or again after a crash before its close was recorded, has the same
 * id, and the fan-out's keys `stop/{requestId}/…` (close-out.ts) make it one close; a
 * slice opened again after a close has a new state, so its next trigger is a new request.
 */

export type TriggerKind = 'tp' | 'sl' | 'eq' | 'day';

/** The names a copier reads in its notices. */
export const TRIGGER_NAMES = {
  tp: 'take-profit',
  sl: 'stop-loss',
  eq: 'equity-stop',
  day: 'daily-loss-limit',
} as const satisfies Record<TriggerKind, string>;

/** An instrument's mark price, contract size and tick (fixed.ts units). */
export interface Mark {
  price: Fx;
  contractSize: Fx;
  tick: Fx;
}

export interface Trigger {
  kind: TriggerKind;
  requestId: string;
  copierId: string;
  traderId: string;
  /** tp and sl close this slice of the trader only; eq and day every slice of the lead */
  slice?: { instrument: string; side: PositionSide };
  /** closes every slice of the lead and pauses the follow (eq, day) */
  pause: boolean;
  /** the mark that triggered (of the slice's instrument; of the first slice for eq, day) */
  markPrice: string;
  /** for the copier: what was reached, in figures */
  detail: string;
}

/** Whether a follow has any stop for the watcher to look at. */
export const hasStops = (f: FollowSettings): boolean =>
  f.takeProfitRatio !== undefined ||
  f.stopLossRatio !== undefined ||
  f.equityStopRatio !== undefined ||
  f.dailyLossLimit !== undefined;

/** Whether a follow's PnL is needed for today's base (it has a daily loss limit). */
export const needsDayBase = (f: FollowSettings): boolean => f.dailyLossLimit !== undefined;

/** The UTC day of `ms`, as YYYYMMDD: the daily loss limit's period. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}

/** The pair's slices of the copier: the trader's, and those it kept from the trader's liquidations. */
export function pairSlices(slices: readonly Slice[], traderId: string): Slice[] {
  const kept = keptTraderId(traderId);
  return slices.filter((s) => s.traderId === traderId || s.traderId === kept);
}

/** (mark − entry) × qty × contract size, reversed for short, less the open fees still held; SCALE places toward zero. */
export function unrealisedPnl(slice: Slice, mark: Mark): Fx {
  const qty = fx(slice.qty);
  if (qty === 0n) return 0n;
  const entry = fx(slice.avgEntryPrice);
  const perContract = slice.side === 'long' ? mark.price - entry : entry - mark.price;
  return truncTo((perContract * qty * mark.contractSize) / ONE / ONE, SCALE) - fx(slice.heldFees);
}

/**
 * Σ realised + Σ unrealised at mark of the pair's slices; undefined while an open slice's
 * instrument has no mark (nothing is decided on a missing price).
 */
export function pairPnl(
  slices: readonly Slice[],
  markOf: (instrument: string) => Mark | undefined,
): Fx | undefined {
  let pnl = 0n;
  for (const s of slices) {
    pnl += fx(s.realisedPnl);
    if (fx(s.qty) === 0n) continue;
    const mark = markOf(s.instrument);
    if (mark === undefined) return undefined;
    pnl += unrealisedPnl(s, mark);
  }
  return pnl;
}

/** copyFunds × (1 − ratio): the copy equity at which the equity stop closes. */
export function equityFloor(copyFunds: string, ratio: string): Fx {
  return (fx(copyFunds) * (ONE - fx(ratio))) / ONE;
}

/** The slice's take-profit and stop-loss prices at `leverage` (protection.ts), if the follow sets them. */
export function sliceStopPrices(
  slice: Slice,
  follow: FollowSettings,
  leverage: number,
  tick: Fx,
): { takeProfit?: Fx; stopLoss?: Fx } {
  const p = protectivePrices(
    slice.side,
    fx(slice.avgEntryPrice),
    fx(String(leverage)),
    tick,
    follow.takeProfitRatio,
    follow.stopLossRatio,
  );
  return {
    ...(p.takeProfitPrice === undefined ? {} : { takeProfit: fx(p.takeProfitPrice) }),
    ...(p.stopLossPrice === undefined ? {} : { stopLoss: fx(p.stopLossPrice) }),
  };
}

/** Which of the slice's stops the mark has reached, if any (a take profit first: it is the better price). */
export function sliceHit(
  side: PositionSide,
  stops: { takeProfit?: Fx; stopLoss?: Fx },
  mark: Fx,
): 'tp' | 'sl' | null {
  const { takeProfit: tp, stopLoss: sl } = stops;
  if (side === 'long') {
    if (tp !== undefined && mark >= tp) return 'tp';
    if (sl !== undefined && mark <= sl) return 'sl';
  } else {
    if (tp !== undefined && mark <= tp) return 'tp';
    if (sl !== undefined && mark >= sl) return 'sl';
  }
  return null;
}

/** A slice's state: changes with every fill, so it tells one generation of the slice from the next. */
export const sliceState = (s: Slice): string =>
  `${s.copierId}|${s.traderId}|${s.instrument}|${s.side}|${s.qty}|${s.avgEntryPrice}|${s.realisedPnl}|${s.fees}|${s.heldFees}`;

/** `{kind}-{32 hex}` (or `day-{YYYYMMDD}-{32 hex}`): an id of the stream's close-outs (1-64 of A-Z a-z 0-9 _ . -). */
export function triggerRequestId(
  kind: TriggerKind,
  scope: string,
  slices: readonly Slice[],
  day?: string,
): string {
  const h = createHash('sha256').update(`${kind}\n${scope}\n${day ?? ''}\n`);
  for (const s of [...slices].sort((a, b) => (sliceState(a) < sliceState(b) ? -1 : 1)))
    h.update(`${sliceState(s)}\n`);
  const hash = h.digest('hex').slice(0, 32);
  return day === undefined ? `${kind}-${hash}` : `${kind}-${day}-${hash}`;
}

/** An instrument's contract size and tick (fixed.ts units): what a slice's stops are computed with. */
export interface InstrumentTerms {
  contractSize: Fx;
  tick: Fx;
}

/** A trader's open slice that has a take profit or a stop loss, its trigger prices computed. */
export interface WatchedSlice {
  slice: Slice;
  leverage: number;
  takeProfit?: Fx;
  stopLoss?: Fx;
}

/**
 * A follow's stops prepared from its settings and slices, for checking at any mark: the
 * watcher keeps it while the follow and the copier's slices are the same objects (both are
 * replaced, never changed, book.ts), so a check at a new price is a few comparisons and
 * one product per open slice.
 */
export interface PreparedStops {
  follow: FollowSettings;
  /** the pair's slices (ids and details are made of them) */
  pair: readonly Slice[];
  open: readonly Slice[];
  watched: readonly WatchedSlice[];
  /**
   * the pair's PnL at marks m is (constant + Σ weight × m of its open slices), exactly, in
   * units of 10^-54 (qty × contract size × price): no rounding decides a stop
   */
  constant: Fx;
  weights: readonly { instrument: string; weight: Fx }[];
  /** an open slice's instrument has no terms: the follow stops are not decided */
  unpriced: boolean;
  /** the equity stop: triggers when Σ weight × mark ≤ this (copyFunds + PnL ≤ floor, moved over) */
  equityBound?: Fx;
  /** the daily loss limit: triggers when Σ weight × mark ≤ dayBase × 10^36 − this */
  dayOffset?: Fx;
}

const ONE2 = ONE * ONE;

/** null where there is nothing to watch: a stopped follow, or no open slice of the lead. */
export function prepareStops(
  follow: FollowSettings,
  slices: readonly Slice[],
  termsOf: (instrument: string) => InstrumentTerms | undefined,
  leverageOf: (instrument: string) => number | undefined,
): PreparedStops | null {
  if (follow.status === 'stopped') return null;
  const pair = pairSlices(slices, follow.traderId);
  const open = pair.filter((s) => fx(s.qty) > 0n);
  if (open.length === 0) return null;
  let constant = 0n;
  for (const s of pair) constant += fx(s.realisedPnl) * ONE2;
  const weights: { instrument: string; weight: Fx }[] = [];
  const watched: WatchedSlice[] = [];
  let unpriced = false;
  const slicing = follow.takeProfitRatio !== undefined || follow.stopLossRatio !== undefined;
  for (const s of open) {
    const terms = termsOf(s.instrument);
    if (terms === undefined) {
      unpriced = true;
      continue;
    }
    // unrealised = (mark − entry) × qty × size, reversed for short, less the held open fees
    const weight = (s.side === 'long' ? 1n : -1n) * fx(s.qty) * terms.contractSize;
    weights.push({ instrument: s.instrument, weight });
    constant -= weight * fx(s.avgEntryPrice) + fx(s.heldFees) * ONE2;
    // the trader's own slices: a kept slice is no longer copied, its copier manages it
    const leverage = leverageOf(s.instrument);
    if (!slicing || s.traderId !== follow.traderId || leverage === undefined) continue;
    watched.push({ slice: s, leverage, ...sliceStopPrices(s, follow, leverage, terms.tick) });
  }
  const out: PreparedStops = { follow, pair, open, watched, constant, weights, unpriced };
  // each check compares Σ weight × mark with a bound computed once here
  if (follow.equityStopRatio !== undefined && follow.copyFunds !== undefined) {
    out.equityBound =
      (equityFloor(follow.copyFunds, follow.equityStopRatio) - fx(follow.copyFunds)) * ONE2 - constant;
  }
  if (follow.dailyLossLimit !== undefined) out.dayOffset = fx(follow.dailyLossLimit) * ONE2 + constant;
  return out;
}

/** Σ weight × mark over the open slices (the pair's PnL less its constant, 10^-54 units); undefined while a mark is missing. */
function markedSum(p: PreparedStops, markOf: (instrument: string) => Fx | undefined): Fx | undefined {
  if (p.unpriced) return undefined;
  let sum = 0n;
  for (const { instrument, weight } of p.weights) {
    const m = markOf(instrument);
    if (m === undefined) return undefined;
    sum += weight * m;
  }
  return sum;
}

/** 10^-54 units → fixed.ts units, toward zero (for what the copier reads). */
const fromPnlUnits = (v: Fx): Fx => v / ONE2;

/**
 * The triggers of a prepared follow at the marks, in the order of the header: one follow
 * stop, or the slice triggers (at most one per slice). A paused follow is watched, as its
 * closes still follow. `dayBase`: the pair's PnL when today began (needsDayBase), if known.
 */
export function triggersAt(
  p: PreparedStops,
  markOf: (instrument: string) => Fx | undefined,
  day: string,
  dayBase?: Fx,
): Trigger[] {
  const { follow } = p;
  const base = { copierId: follow.copierId, traderId: follow.traderId };
  const scope = `${follow.copierId}|${follow.traderId}`;
  if (p.equityBound !== undefined || p.dayOffset !== undefined) {
    const sum = markedSum(p, markOf);
    const markPrice = () => fxStr(markOf((p.open[0] as Slice).instrument) ?? 0n);
    if (sum !== undefined && p.equityBound !== undefined && sum <= p.equityBound) {
      const { copyFunds = '0', equityStopRatio = '0' } = follow;
      const equity = fromPnlUnits(fx(copyFunds) * ONE2 + p.constant + sum);
      return [
        {
          kind: 'eq',
          requestId: triggerRequestId('eq', scope, p.pair),
          ...base,
          pause: true,
          markPrice: markPrice(),
          detail: `copy equity ${fxStr(equity)} USDT at or below ${fxStr(equityFloor(copyFunds, equityStopRatio))} (${copyFunds} × (1 − ${equityStopRatio}))`,
        },
      ];
    }
    if (
      sum !== undefined &&
      p.dayOffset !== undefined &&
      dayBase !== undefined &&
      sum <= dayBase * ONE2 - p.dayOffset
    ) {
      const loss = fromPnlUnits(dayBase * ONE2 - p.constant - sum);
      return [
        {
          kind: 'day',
          requestId: triggerRequestId('day', scope, p.pair, day),
          ...base,
          pause: true,
          markPrice: markPrice(),
          detail: `lost ${fxStr(loss)} USDT today (UTC ${day}), limit ${follow.dailyLossLimit}`,
        },
      ];
    }
  }
  let out: Trigger[] | undefined;
  for (const w of p.watched) {
    const mark = markOf(w.slice.instrument);
    if (mark === undefined) continue;
    const hit = sliceHit(w.slice.side, w, mark);
    if (hit === null) continue;
    const s = w.slice;
    const level = hit === 'tp' ? w.takeProfit : w.stopLoss;
    if (out === undefined) out = [];
    out.push({
      kind: hit,
      requestId: triggerRequestId(hit, `${scope}|${s.instrument}|${s.side}`, [s]),
      ...base,
      slice: { instrument: s.instrument, side: s.side },
      pause: false,
      markPrice: fxStr(mark),
      detail: `${s.side} ${s.qty} ${s.instrument} from ${s.avgEntryPrice} at ${w.leverage}×: mark ${fxStr(mark)} reached ${TRIGGER_NAMES[hit]} ${fxStr(level ?? 0n)}`,
    });
  }
  return out ?? NONE;
}

const NONE: Trigger[] = [];

/** What the watcher knows of one follow at one moment (prepareStops and triggersAt at once). */
export interface FollowView {
  follow: FollowSettings;
  /** every slice of the copier (the book's) */
  slices: readonly Slice[];
  markOf: (instrument: string) => Mark | undefined;
  /** the leverage of the copier's position on the instrument, as the exchange last said */
  leverageOf: (instrument: string) => number | undefined;
  /** the pair's PnL when today began (needsDayBase), if known yet */
  dayBase?: Fx;
  /** today, YYYYMMDD */
  day: string;
}

/** The triggers of one follow now: prepareStops then triggersAt. */
export function followTriggers(v: FollowView): Trigger[] {
  const p = prepareStops(v.follow, v.slices, v.markOf, v.leverageOf);
  return p === null ? [] : triggersAt(p, (i) => v.markOf(i)?.price, v.day, v.dayBase);
}
