import { fx, fxStr } from './fixed.js';
import { profitShare } from './profit-share.js';
import type { PositionMode } from './settings.js';
import type { PositionSide } from './signal.js';
import { applyCloseFill, keptTraderId, type Slice, sliceId } from './slices.js';

/**
 * A copier's own liquidation (an exchange event on its account, not a trader's signal):
 * every slice it holds on the liquidated position is closed in the book at the liquidation
 * price, whichever trader it belongs to, and its PnL realised there as a close's would be,
 * so that each (copier, trader) pair's profit share reads it: a profit accrues the lead's
 * share, a loss accrues nothing and stays in the pair's cumulative PnL, below its high-water
 * mark (profit-share-cycle.ts). Nothing is ordered: the exchange has closed the position. Pure.
 *
 * Which slices: those on the liquidated account (the follows of their traders name that
 * account) on the instrument; in hedge mode only those of the liquidated side, in one-way
 * mode both sides, the exchange's one net position being gone. Slices the copier kept from a
 * trader's liquidation (kept/{traderId}) close too, with no share: they are no longer the
 * trader's.
 *
 * Keys, as a close-out's (close-out.ts): the liquidation is accepted under
 * `liqreq/{fillId}@{account}` (copy_signal, before it enters the stream, so a Redis that lost
 * it has it queued again at start, requeue.ts), recorded as done for the copier under
 * `liq/{fillId}@{copierId}` (copy_signal), each slice's close under
 * `liq/{fillId}/{instrument}/{L|S}@{traderId}` (copy_order, status LIQUIDATED, its
 * client order id `{key}:{copierId}` never sent to the exchange). A trader's signal id holds
 * no `/`, so none of these is ever a signal's.
 */
export interface CopierLiquidation {
  /** the exchange's id of the liquidation's fill (fill event `fillId`) */
  readonly fillId: string;
  /** the exchange account liquidated: a copier's main account, or `{account}/{sub}` */
  readonly account: string;
  readonly instrument: string;
  /** the position side liquidated */
  readonly side: PositionSide;
  /** contracts the exchange closed */
  readonly qty: string;
  /** the liquidation's fill price */
  readonly price: string;
  /** the position's leverage, as the exchange applied it (what the book frees margin at) */
  readonly leverage: number;
  readonly filledMs: number;
}

export const liquidationRequestKey = (l: CopierLiquidation, copierId: string): string =>
  `liq/${l.fillId}@${copierId}`;

/** What every key a liquidation is accepted under starts with. */
export const LIQUIDATION_ACCEPT_PREFIX = 'liqreq/';

/** The key the liquidation is accepted under, whoever's account it is (copy_signal, before the stream). */
export const liquidationAcceptKey = (l: Pick<CopierLiquidation, 'fillId' | 'account'>): string =>
  `${LIQUIDATION_ACCEPT_PREFIX}${l.fillId}@${l.account}`;

export const liquidationSliceKey = (l: CopierLiquidation, slice: Slice): string =>
  `liq/${l.fillId}/${slice.instrument}/${slice.side === 'long' ? 'L' : 'S'}@${slice.traderId}`;

/** The trader whose pair a slice's PnL belongs to: its own, or the one a kept slice was detached from. */
const KEPT = keptTraderId('');

export const pairTraderOf = (slice: Slice): string =>
  slice.traderId.startsWith(KEPT) ? slice.traderId.slice(KEPT.length) : slice.traderId;

/**
 * The copier's open slices the liquidation ends, in a stable order: of `traders` (those whose
 * follows are on the liquidated account), on the instrument, and on the liquidated side in hedge mode.
 */
export function liquidatedSlices(
  slices: readonly Slice[],
  traders: ReadonlySet<string>,
  l: CopierLiquidation,
  mode: PositionMode,
): Slice[] {
  return slices
    .filter(
      (s) =>
        fx(s.qty) > 0n &&
        s.instrument === l.instrument &&
        (mode === 'one-way' || s.side === l.side) &&
        traders.has(pairTraderOf(s)),
    )
    .sort((a, b) => (sliceId(a) < sliceId(b) ? -1 : 1));
}

/** One slice closed by the liquidation. */
export interface LiquidatedSlice {
  readonly key: string;
  readonly before: Slice;
  readonly after: Slice;
  /** realised by this close, net of the slice's held open fees (a liquidation charges none itself) */
  readonly pnl: string;
  /** the trader's share of a profit ('0' for a loss, or a kept slice) */
  readonly share: string;
  /** the slice's share accrued after this close */
  readonly shareAccrued: string;
}

/**
 * Closes the whole slice at the liquidation price. `ratio` is the lead's profit-share ratio
 * (ignored for a kept slice), `accrued` what the slice has accrued so far.
 */
export function liquidateSlice(
  l: CopierLiquidation,
  slice: Slice,
  contractSize: string,
  ratio: string,
  accrued: string,
): LiquidatedSlice {
  const closed = applyCloseFill(slice, { qty: slice.qty, price: l.price, fee: '0' }, contractSize);
  const kept = slice.traderId === keptTraderId(pairTraderOf(slice));
  const share = kept ? '0' : profitShare(closed.pnl, ratio);
  return {
    key: liquidationSliceKey(l, slice),
    before: slice,
    after: closed.slice,
    pnl: closed.pnl,
    share,
    shareAccrued: share === '0' ? accrued : fxStr(fx(accrued) + fx(share)),
  };
}
