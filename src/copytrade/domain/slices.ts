import { SCALE } from '../../domain/money.js';
import { divHalfEven, type Fx, floorTo, fx, fxStr, ONE, truncTo } from './fixed.js';
import type { PositionSide } from './signal.js';

/**
 * A slice is the part of a copier's position that belongs to one trader: one per (copier,
 * trader, instrument, side). A close by a trader closes only that trader's slices, in
 * proportion to what it closed, and the PnL of that close is attributed to that trader
 * alone (profit share reads it). The functions return new slices; they never mutate.
 *
 * Fees: a slice pays fees on opens and on closes. Open fees are held (`heldFees`) until the
 * quantity they bought is closed, then realised pro rata, so that the PnL of each close is
 * net of every fee that close's quantity cost — and profit share is taken on that.
 */
export interface SliceKey {
  copierId: string;
  traderId: string;
  instrument: string;
  side: PositionSide;
}

export interface Slice extends SliceKey {
  /** contracts held */
  qty: string;
  /** quantity-weighted average fill price of the opens held; '0' when qty is 0 */
  avgEntryPrice: string;
  /** USDT, cumulative: Σ of every close's `pnl` */
  realisedPnl: string;
  /** USDT, cumulative: every fee paid, opens and closes */
  fees: string;
  /** USDT: open fees of the quantity still held, not yet in realisedPnl */
  heldFees: string;
}

/** One fill of a copier order: contracts, price, and the fee paid (negative for a rebate). */
export interface Fill {
  qty: string;
  price: string;
  fee: string;
}

/** The outcome of a close fill: the new slice and what the close realised. */
export interface ClosedPart {
  slice: Slice;
  /** (exit − entry) × qty × contract size, reversed for short, to SCALE places */
  grossPnl: string;
  /** this close's fee plus the open fees of the quantity closed */
  fees: string;
  /** grossPnl − fees, exactly: what profit share reads */
  pnl: string;
}

/** Average entry prices keep 18 places (DECIMAL(36,18)); amounts keep SCALE. */
export const PRICE_SCALE = 18;

export function emptySlice(key: SliceKey): Slice {
  // whole literals, no spread: slices are made for every copier of every signal
  return {
    copierId: key.copierId,
    traderId: key.traderId,
    instrument: key.instrument,
    side: key.side,
    qty: '0',
    avgEntryPrice: '0',
    realisedPnl: '0',
    fees: '0',
    heldFees: '0',
  };
}

/** A map key for a slice: ids and instruments never contain `|`. */
export function sliceId(key: SliceKey): string {
  return `${key.copierId}|${key.traderId}|${key.instrument}|${key.side}`;
}

/** The copier's slice of `traderId` on (instrument, side) among `slices`, if it holds one. */
export function findSlice(
  slices: readonly Slice[],
  traderId: string,
  instrument: string,
  side: PositionSide,
): Slice | undefined {
  for (const s of slices) {
    if (s.traderId === traderId && s.instrument === instrument && s.side === side) return s;
  }
  return undefined;
}

/**
 * The entry of `held` contracts at `entry` joined by `added` at `price`: the
 * quantity-weighted average, half to even at PRICE_SCALE (Σ qty × price is at 10^-36; over
 * a quantity at 10^-18 it is at 10^-18).
 */
function weightedEntry(held: Fx, entry: string, added: Fx, price: string): Fx {
  return held === 0n ? fx(price) : divHalfEven(held * fx(entry) + added * fx(price), held + added);
}

/** The part of `heldFees` that goes with `qty` of `held` contracts: all of it with the last, else pro rata, toward zero. */
function heldFeesOf(heldFees: Fx, qty: Fx, held: Fx): Fx {
  return qty === held ? heldFees : truncTo((heldFees * qty) / held, SCALE);
}

/** Adds an open fill: quantity grows, the entry price is the quantity-weighted average. */
export function applyOpenFill(slice: Slice, fill: Fill): Slice {
  const q = fx(fill.qty);
  if (q <= 0n) throw new RangeError(`open fill of ${fill.qty} on ${sliceId(slice)}: expected qty > 0`);
  const held = fx(slice.qty);
  const qty = held + q;
  const fee = fx(fill.fee);
  const avg = weightedEntry(held, slice.avgEntryPrice, q, fill.price);
  return {
    copierId: slice.copierId,
    traderId: slice.traderId,
    instrument: slice.instrument,
    side: slice.side,
    qty: fxStr(qty),
    realisedPnl: slice.realisedPnl,
    avgEntryPrice: fxStr(avg),
    fees: fxStr(fx(slice.fees) + fee),
    heldFees: fxStr(fx(slice.heldFees) + fee),
  };
}

/**
 * Applies a close fill: realises (exit − entry) × qty × contractSize (reversed for short)
 * minus this fill's fee and the closed quantity's share of the held open fees; the
 * quantity shrinks, the entry price stays. A fill of the whole slice realises all held
 * fees and leaves exactly zero. A fill larger than the slice is a ledger error and throws.
 * Amounts are rounded toward zero to SCALE places.
 */
export function applyCloseFill(slice: Slice, fill: Fill, contractSize: string): ClosedPart {
  const q = fx(fill.qty);
  const held = fx(slice.qty);
  if (q <= 0n || q > held) {
    throw new RangeError(`close fill of ${fill.qty} on ${sliceId(slice)} holding ${slice.qty}`);
  }
  const rest = held - q;
  const fee = fx(fill.fee);
  const entry = fx(slice.avgEntryPrice);
  const exit = fx(fill.price);
  const perContract = slice.side === 'long' ? exit - entry : entry - exit;
  // a product of three 10^-18 values is at 10^-54; `/` truncates toward zero, as truncTo
  const gross = truncTo((perContract * q * fx(contractSize)) / ONE / ONE, SCALE);
  const heldFees = fx(slice.heldFees);
  const feeShare = heldFeesOf(heldFees, q, held);
  const fees = feeShare + fee;
  const pnl = gross - fees;
  return {
    slice: {
      copierId: slice.copierId,
      traderId: slice.traderId,
      instrument: slice.instrument,
      side: slice.side,
      qty: fxStr(rest),
      avgEntryPrice: rest === 0n ? '0' : slice.avgEntryPrice,
      realisedPnl: fxStr(fx(slice.realisedPnl) + pnl),
      fees: fxStr(fx(slice.fees) + fee),
      heldFees: fxStr(heldFees - feeShare),
    },
    grossPnl: fxStr(gross),
    fees: fxStr(fees),
    pnl: fxStr(pnl),
  };
}

/**
 * Where a copier's slices of a trader go when the trader is liquidated and the lead's
 * policy is keep: they stay open on the copier's account but are no longer the trader's, so
 * the trader's later signals neither grow nor close them and no profit share is taken on
 * them. No trader id contains `/`. The copier closes them by stopping its follow with
 * slices=close (close-out.ts).
 */
export const keptTraderId = (traderId: string): string => `kept/${traderId}`;

/**
 * Detaches `qty` of a slice from its trader (the part of the trader's position that was
 * liquidated): that quantity, at the slice's entry, and its share of the held open fees
 * move into the copier's kept slice of that trader (merged with what an earlier liquidation
 * kept, entry weighted by quantity); the trader's slice keeps the rest and its realised PnL.
 * The fees move with the held fees, so the slices' fees still add up to what was paid.
 */
export function detachSlice(slice: Slice, kept: Slice | undefined, qty: Fx): { left: Slice; kept: Slice } {
  const held = fx(slice.qty);
  if (qty <= 0n || qty > held)
    throw new RangeError(`detach of ${fxStr(qty)} from ${sliceId(slice)} holding ${slice.qty}`);
  const into = kept ?? emptySlice({ ...slice, traderId: keptTraderId(slice.traderId) });
  const rest = held - qty;
  const heldFees = fx(slice.heldFees);
  const fees = heldFeesOf(heldFees, qty, held);
  const had = fx(into.qty);
  const total = had + qty;
  const avg = weightedEntry(had, into.avgEntryPrice, qty, slice.avgEntryPrice);
  return {
    left: {
      ...slice,
      qty: fxStr(rest),
      avgEntryPrice: rest === 0n ? '0' : slice.avgEntryPrice,
      fees: fxStr(fx(slice.fees) - fees),
      heldFees: fxStr(heldFees - fees),
    },
    kept: {
      ...into,
      qty: fxStr(total),
      avgEntryPrice: fxStr(avg),
      fees: fxStr(fx(into.fees) + fees),
      heldFees: fxStr(fx(into.heldFees) + fees),
    },
  };
}

/**
 * Contracts to close of a slice of `sliceQty` when its trader closed `traderQty` out of
 * `positionBefore`: that fraction of the slice rounded down to the step, never more than
 * the slice; a close of the trader's whole position (traderQty ≥ positionBefore) closes
 * the slice exactly, so a full close leaves no dust. fixed.ts units; closeQty for strings.
 */
export function closeQtyFx(sliceQty: Fx, traderQty: Fx, positionBefore: Fx, step: Fx): Fx {
  if (traderQty >= positionBefore) return sliceQty;
  const q = floorTo((sliceQty * traderQty) / positionBefore, step);
  return q > sliceQty ? sliceQty : q;
}

export const closeQty = (sliceQty: string, traderQty: string, positionBefore: string, step: string): string =>
  fxStr(closeQtyFx(fx(sliceQty), fx(traderQty), fx(positionBefore), fx(step)));
