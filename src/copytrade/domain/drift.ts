import { SCALE } from '../../domain/money.js';
import type { AccountSnapshot } from './account.js';
import { sliceCloseOrder } from './close-out.js';
import { type CopyOrder, clientOrderId } from './copy-order.js';
import { abs, type Fx, fx, fxStr, truncTo } from './fixed.js';
import type { InstrumentRules } from './instrument.js';
import { netPosition } from './netting.js';
import type { FollowSettings, LeadSettings, PositionMode } from './settings.js';
import type { PositionSide, TraderSignal } from './signal.js';
import { type Market, prepareSignal, sizeCopy } from './sizing.js';
import type { CopySkip } from './skip-reasons.js';
import { applyOpenFill, detachSlice, type Slice } from './slices.js';

/**
 * Drift: where what tradeflow recorded for a copier and what the copier holds on the
 * exchange (or should hold, by its lead's signals) part. Pure: what the drift loop
 * (src/copytrade/drift/) reads goes in, the drifts and what to do about each come out.
 *
 * Two views, per copier:
 * 1. Per signal (what the lead did): each fanned-out signal of a trader the copier follows
 *    should have left the copier a filled order or a skip. Without either (nothing
 *    recorded, or the exchange rejected the order), the copy was lost: `missed-open` or
 *    `missed-close`. A filled open with an `unfilled-remainder` skip is a `partial-fill`.
 *    Before anything is placed the adapter asks the exchange for the signal's own client
 *    order id: one the exchange holds but tradeflow never recorded is recorded, not placed
 *    again (`unrecorded-fill`).
 * 2. Per position (what the exchange holds): the sum of the copier's slices per instrument
 *    (per side in hedge mode, the net in one-way mode) against its exchange position. What
 *    the signals' repairs do not explain (a position changed by hand, a liquidation) is
 *    `position-mismatch`, reported, not ordered.
 *
 * What each signal drift becomes (planRepair): the copy sized now as the fan-out sizes it
 * (sizing.ts), so the entry protection guards it: a missed open is opened only while the
 * price is within the copier's max slippage of the trader's fill, as an IOC limit order at
 * that bound; beyond it the open is not repairable and is reported. A missed close is
 * closed at market, always. A partial fill's remainder is sized as an open of that quantity
 * (same bound); beyond the bound the slice stays at what filled (trimmed). An open that a
 * later close of the same trader, instrument and side superseded is not opened.
 *
 * Every repair has its key, `drift/{signalKey}`, standing where a signal's key stands: its
 * client order id is `{key}:{copierId}` and its order or skip is recorded under the key, so
 * one repair per (signal, copier): detecting the same drift twice, or again after a crash,
 * finds what was placed (the exchange keeps the client order id) or recorded, and orders
 * once. A trader's signal ids never contain `/`, so no signal's key is one of these.
 */

export const DRIFT_KEY_PREFIX = 'drift/';

/** The key of the repair of `signalKey`'s copy (one per signal and copier). */
export const repairKey = (signalKey: string): string => `${DRIFT_KEY_PREFIX}${signalKey}`;

export type SignalDriftKind = 'missed-open' | 'missed-close' | 'partial-fill';
export type DriftKind = SignalDriftKind | 'unrecorded-fill' | 'position-mismatch' | 'lead-flat';

/** What tradeflow recorded for one copier and one signal (copy_order, copy_skip under the signal's key). */
export interface SignalRecord {
  /** FILLED or REJECTED; null when no order is recorded */
  orderStatus: string | null;
  /** the skip's reason; null when none is recorded */
  skipReason: string | null;
}

/**
 * Whether a signal's copy drifted for a copier, from what is recorded under its key
 * (repairs already recorded under `drift/...` are left out by the caller). Null: the copy
 * is as it should be (a fill, a skip with its reason).
 */
export function signalDrift(signal: TraderSignal, r: SignalRecord): SignalDriftKind | null {
  if (r.orderStatus === 'FILLED') {
    return signal.action === 'open' && r.skipReason === 'unfilled-remainder' ? 'partial-fill' : null;
  }
  // a skip is a recorded decision (sizing's, or the exchange canceling an open at its bound)
  if (r.skipReason !== null) return null;
  // nothing recorded, or the exchange refused the order: the copy was lost
  return signal.action === 'open' ? 'missed-open' : 'missed-close';
}

/** What the repair of one signal drift needs: the signal, the lead and instrument, the copier now. */
export interface RepairInput {
  kind: SignalDriftKind;
  signal: TraderSignal;
  lead: LeadSettings;
  rules: InstrumentRules;
  market: Market;
  follow: FollowSettings;
  account: AccountSnapshot;
  slices: readonly Slice[];
  /** partial-fill: the contracts the exchange left unfilled (its remainingQty) */
  remainder?: string;
  /** a later close of the same trader, instrument and side is recorded: the open is moot */
  superseded?: boolean;
}

/** What becomes of a signal drift: an order to place, or a skip recorded (and maybe reported). */
export type RepairPlan =
  | { action: 'order'; order: CopyOrder }
  /**
   * recorded under the repair key, nothing placed; `report`: not repairable, the copier and
   * operators are told (a missed open beyond its bound); otherwise the drift is settled
   * (`trimmed`: a partial fill's slice stays at what filled)
   */
  | { action: 'skip'; skip: CopySkip; outcome: RepairOutcome; report: boolean };

export type RepairOutcome = 'repaired' | 'trimmed' | 'superseded' | 'skipped' | 'beyond-bound';

/** The order, or the skip, that repairs a signal drift; sized now, as the fan-out would (sizing.ts). */
export function planRepair(i: RepairInput): RepairPlan {
  const key = repairKey(`${i.signal.signalId}@${i.signal.traderId}`);
  if (i.kind === 'missed-open' && i.superseded === true) {
    return {
      action: 'skip',
      skip: skipOf(i, key, 'drift-superseded', 'a later close of the trader on this side was copied'),
      outcome: 'superseded',
      report: false,
    };
  }
  // a partial fill's remainder: an open of exactly that quantity, at the signal's bound
  const remainder = i.kind === 'partial-fill' ? fx(i.remainder ?? '0') : 0n;
  if (i.kind === 'partial-fill' && remainder <= 0n) {
    return {
      action: 'skip',
      skip: skipOf(i, key, 'unfilled-remainder', 'nothing left'),
      outcome: 'trimmed',
      report: false,
    };
  }
  const signal: TraderSignal =
    i.kind === 'partial-fill'
      ? { ...i.signal, signalId: key, qty: fxStr(remainder) }
      : { ...i.signal, signalId: key };
  const follow: FollowSettings =
    i.kind === 'partial-fill' ? { ...i.follow, sizing: { mode: 'fixed-ratio', ratio: '1' } } : i.follow;
  const sized = sizeCopy(prepareSignal(signal, i.lead, i.rules, i.market), {
    follow,
    account: i.account,
    slices: i.slices,
  });
  if (sized.kind === 'order') {
    // the signal's trader, not the repair key, owns the slice; the key names the order
    return {
      action: 'order',
      order: { ...sized.order, clientOrderId: clientOrderId(key, i.follow.copierId) },
    };
  }
  const skip = sized.skip;
  if (i.kind === 'partial-fill') {
    return {
      action: 'skip',
      skip: {
        ...skip,
        detail: `remainder ${fxStr(remainder)} not completed, the slice stays at what filled: ${skip.detail}`,
      },
      outcome: 'trimmed',
      report: false,
    };
  }
  const beyond = skip.reason === 'price-moved';
  return {
    action: 'skip',
    skip: beyond ? { ...skip, detail: `missed open not repaired: ${skip.detail}` } : skip,
    outcome: beyond ? 'beyond-bound' : 'skipped',
    report: beyond,
  };
}

function skipOf(i: RepairInput, key: string, reason: CopySkip['reason'], detail: string): CopySkip {
  return {
    signalId: key,
    copierId: i.follow.copierId,
    traderId: i.signal.traderId,
    instrument: i.signal.instrument,
    reason,
    detail,
  };
}

/** One exchange position as the exchange lists it (open positions only). */
export interface HeldPosition {
  instrument: string;
  side: PositionSide;
  qty: string;
}

/** Where the slices' sum and the exchange part, on one instrument (and side in hedge mode). */
export interface PositionDrift {
  instrument: string;
  /** hedge mode: the position's side; one-way mode: 'net' (long +, short −) */
  side: PositionSide | 'net';
  /** Σ of the slices (signed in one-way mode) */
  sliceQty: string;
  exchangeQty: string;
  /** exchange − slices */
  diff: string;
}

/**
 * The instruments (and sides) where the copier's slices do not add up to its exchange
 * position. `slices` are every slice of the account (every trader, kept ones too);
 * `instruments` those to compare (where either side holds something is always compared).
 */
export function positionDrifts(
  mode: PositionMode,
  slices: readonly Slice[],
  held: readonly HeldPosition[],
): PositionDrift[] {
  const instruments = [
    ...new Set([...slices.map((s) => s.instrument), ...held.map((p) => p.instrument)]),
  ].sort();
  const out: PositionDrift[] = [];
  for (const instrument of instruments) {
    const sides: (PositionSide | 'net')[] = mode === 'hedge' ? ['long', 'short'] : ['net'];
    for (const side of sides) {
      const mine = side === 'net' ? netPosition(slices, instrument) : sumSide(slices, instrument, side);
      const theirs = side === 'net' ? netHeld(held, instrument) : sumHeld(held, instrument, side);
      if (mine !== theirs) {
        out.push({
          instrument,
          side,
          sliceQty: fxStr(mine),
          exchangeQty: fxStr(theirs),
          diff: fxStr(theirs - mine),
        });
      }
    }
  }
  return out;
}

const sumSide = (slices: readonly Slice[], instrument: string, side: PositionSide): Fx =>
  slices.reduce((t, s) => (s.instrument === instrument && s.side === side ? t + fx(s.qty) : t), 0n);

const sumHeld = (held: readonly HeldPosition[], instrument: string, side: PositionSide): Fx =>
  held.reduce((t, p) => (p.instrument === instrument && p.side === side ? t + fx(p.qty) : t), 0n);

const netHeld = (held: readonly HeldPosition[], instrument: string): Fx =>
  sumHeld(held, instrument, 'long') - sumHeld(held, instrument, 'short');

/** How far a position drift is, as a magnitude (for the report's detail). */
export const driftSize = (d: PositionDrift): string => fxStr(abs(fx(d.diff)));

/*
 * Per lead (a lead whose signals are its own exchange fills, so that its account is the
 * truth of what it holds): a side of an instrument the lead no longer holds, while copiers
 * still hold slices of it there, means a close of the lead that never reached tradeflow (a
 * fill event lost while the events socket was down). Each such slice is closed whole at
 * market under `drift/flat/{signalKey}`, the key of the lead's last signal on that side: one
 * close per (lead position, copier), the same after a crash. Acted on only once nothing of
 * the lead is in flight (every signal of it finished, the last one long enough ago for its
 * fill event to have arrived).
 */

/** The key of closing the slices a lead no longer holds, after its last signal `lastSignalKey` on that side. */
export const flatKey = (lastSignalKey: string): string => `${DRIFT_KEY_PREFIX}flat/${lastSignalKey}`;

/** Whether the lead's account holds anything on `side` of `instrument` (hedge: that side; one-way: its net that way). */
export function leadHolds(held: readonly HeldPosition[], instrument: string, side: PositionSide): boolean {
  return held.some((p) => p.instrument === instrument && p.side === side && fx(p.qty) > 0n);
}

/** The lead's last signal on each instrument and side, from its signals oldest first: `{instrument}|{side}` → its key. */
export function lastSignalBySide(
  signals: readonly { signalKey: string; signal: TraderSignal }[],
): Map<string, string> {
  const last = new Map<string, string>();
  for (const { signalKey, signal } of signals) last.set(`${signal.instrument}|${signal.side}`, signalKey);
  return last;
}

/** The copier's close of a slice whose lead holds nothing there any more (close-out.ts builds it). */
export function leadFlatClose(
  lastSignalKey: string,
  follow: FollowSettings,
  slice: Slice,
  slices: readonly Slice[],
): CopyOrder {
  return sliceCloseOrder(flatKey(lastSignalKey), follow, slice, slices);
}

/*
 * A position changed by hand (closed, reduced or added to on the exchange): where one
 * trader's slice alone holds the instrument (and side) on the account, the follow's
 * `onManualChange` says what the slice becomes. `adopt`: the slice takes the exchange's
 * quantity and goes on following the trader (a reduction drops the closed part's held open
 * fees, its PnL being the copier's own, realised outside tradeflow; an addition enters at
 * the price now). `detach`: the same, then all of it leaves the trader for the copier's kept
 * slice of the trader (slices.ts detachSlice): the trader's signals no longer touch it. A
 * change that flips the side (one-way), or a position shared by several slices, cannot be
 * attributed and stays reported.
 */

/** The slices after a manual change (the trader's, and the kept one on detach), or null: not attributable. */
export function manualChange(
  policy: 'adopt' | 'detach',
  drift: PositionDrift,
  slices: readonly Slice[],
  kept: Slice | undefined,
  price: string,
): Slice[] | null {
  const holding = slices.filter(
    (s) =>
      s.instrument === drift.instrument && fx(s.qty) > 0n && (drift.side === 'net' || s.side === drift.side),
  );
  if (holding.length !== 1) return null;
  const slice = holding[0] as Slice;
  if (slice.traderId.startsWith('kept/')) return null;
  // the slice's own quantity the exchange now holds: its side of the net in one-way mode
  const theirs = fx(drift.exchangeQty);
  const target = drift.side === 'net' ? (slice.side === 'long' ? theirs : -theirs) : theirs;
  if (target < 0n) return null;
  const held = fx(slice.qty);
  let changed: Slice = slice;
  if (target < held) {
    const heldFees = fx(slice.heldFees);
    changed = {
      ...slice,
      qty: fxStr(target),
      avgEntryPrice: target === 0n ? '0' : slice.avgEntryPrice,
      heldFees: fxStr(truncTo((heldFees * target) / held, SCALE)),
    };
  } else if (target > held) {
    changed = applyOpenFill(slice, { qty: fxStr(target - held), price, fee: '0' });
  }
  if (policy === 'adopt' || target === 0n) return [changed];
  const moved = detachSlice(changed, kept, target);
  return [moved.left, moved.kept];
}
