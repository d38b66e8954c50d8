import type { InstrumentId, MarginMode, PositionSide } from '../../clients/exchange-wire.js';
import { divRound, ONE, type Units } from './fixed.js';

/**
 * A position on one side of one instrument, and the arithmetic of opening into it and
 * closing out of it, in units (fixed.ts). Pure; the engine decides what to apply and commits it.
 */
export interface Position {
  readonly instrument: InstrumentId;
  side: PositionSide;
  /** contracts, > 0 while open */
  qty: Units;
  /** to 8 places, rounded half up */
  avgEntry: Units;
  /** USDT locked: the entry notional of what is open, over the leverage */
  margin: Units;
  leverage: number;
  marginMode: MarginMode;
  /** realised since it was opened */
  realisedPnl: Units;
}

const ONE2 = ONE * ONE;
const ONE3 = ONE2 * ONE;

/** Where a position lives in its account: one per instrument in one-way mode, one per side in hedge mode. */
export const positionKey = (instrument: InstrumentId, side: PositionSide | undefined): string =>
  side === undefined ? instrument : `${instrument}:${side}`;

export function emptyPosition(
  instrument: InstrumentId,
  side: PositionSide,
  leverage: number,
  marginMode: MarginMode,
): Position {
  return { instrument, side, qty: 0n, avgEntry: 0n, margin: 0n, leverage, marginMode, realisedPnl: 0n };
}

/*
 * A raw notional is qty × contractSize × price, unrounded: in units of 10^-24 USDT (ONE³ per
 * USDT). The engine keeps contractSize × price per price tick, so an order multiplies once.
 */

/** USDT to lock for a raw notional at `leverage`, rounded up so the margin never falls short. */
export function marginFor(raw: bigint, leverage: number): Units {
  return divRound(raw, ONE2 * BigInt(leverage), 'ceil');
}

/** The fee on a raw notional at `rate` (units), rounded down. */
export function feeFor(raw: bigint, rate: Units): Units {
  return divRound(raw * rate, ONE3, 'floor');
}

/** Adds `qty` at `price` (margin already computed): the average entry is weighted by quantity. */
export function openInto(pos: Position, qty: Units, price: Units, margin: Units): void {
  const total = pos.qty + qty;
  pos.avgEntry = pos.qty === 0n ? price : divRound(pos.qty * pos.avgEntry + qty * price, total, 'halfUp');
  pos.qty = total;
  pos.margin += margin;
}

export interface CloseEffect {
  /** USDT, rounded towards minus infinity so the house never pays a crumb too many */
  pnl: Units;
  /** margin freed: the closed fraction of it, all of it when the position is closed out */
  released: Units;
}

/** What closing `qty` (≤ pos.qty) at `price` realises and frees; changes nothing. */
export function closeEffect(pos: Position, qty: Units, price: Units, contractSize: Units): CloseEffect {
  const move = pos.side === 'long' ? price - pos.avgEntry : pos.avgEntry - price;
  const pnl = divRound(move * qty * contractSize, ONE2, 'floor');
  const released = qty === pos.qty ? pos.margin : divRound(pos.margin * qty, pos.qty, 'down');
  return { pnl, released };
}

export function closeFrom(pos: Position, qty: Units, effect: CloseEffect): void {
  pos.qty -= qty;
  pos.margin -= effect.released;
  pos.realisedPnl += effect.pnl;
  if (pos.qty === 0n) pos.avgEntry = 0n;
}
