/**
 * What a lead trader and a copier choose, in their typed and validated form. The API takes
 * them as JSON and turns them into these types with settings-parse.ts; the fan-out keeps
 * them in memory and hands them to sizing. Amounts and ratios are decimal strings.
 */

/** What copiers' slices of a trader do when the exchange liquidates the trader's position. */
export type LiquidationPolicy =
  /** close each copier's slice at market, like any full close of the trader */
  | 'close'
  /** leave the slices open; each copier manages its own from then on */
  | 'keep';

/**
 * Where a lead's signals come from: its signed frames on the traders' socket, or its own
 * fills on the exchange (fill intake). One or the other: a lead that sends frames also
 * trades, so taking both would copy each trade twice (a frame's id and its fill's
 * `fill-{id}` are never linked).
 */
export type LeadSignalSource = 'frames' | 'fills';

/** What a stored lead without the field means: leads came from frames before fills existed. */
export const DEFAULT_SIGNAL_SOURCE: LeadSignalSource = 'frames';

export interface LeadSettings {
  traderId: string;
  /** instruments whose trades this trader leads; others are not turned into signals */
  instruments: readonly string[];
  /** copiers accepted at most; DEFAULT_MAX_COPIERS when the body leaves it out */
  maxCopiers: number;
  /** the trader's share of copiers' positive realised PnL, 0 to MAX_PROFIT_SHARE_RATIO */
  profitShareRatio: string;
  onLiquidation: LiquidationPolicy;
  /** the other source's signals of this lead are refused (frames) or dropped (fills) */
  signalSource: LeadSignalSource;
}

export const DEFAULT_MAX_COPIERS = 500;
/** The fan-out is sized for 5,000 copiers per signal; a lead may not promise more. */
export const MAX_COPIERS_LIMIT = 5000;
export const MAX_PROFIT_SHARE_RATIO = '0.3';
/** Own leverage a copier may choose (a trader's leverage is taken as the signal gives it). */
export const MAX_OWN_LEVERAGE = 125;

export type SizingMode =
  /** put this margin (USDT) into each copied open: qty = margin × leverage / (price × contract size) */
  | { mode: 'fixed-amount'; margin: string }
  /** open this multiple of the trader's quantity: qty = trader qty × ratio */
  | { mode: 'fixed-ratio'; ratio: string };

export type MarginMode = 'cross' | 'isolated';
/** one-way: one net position per instrument; hedge: a long and a short position per instrument */
export type PositionMode = 'one-way' | 'hedge';
/** paused: no new opens, closes still follow; stopped: nothing follows */
export type FollowStatus = 'active' | 'paused' | 'stopped';

/** The exchange account that places the copier's orders. */
export type FollowAccount = { type: 'main' } | { type: 'sub'; subAccount: string };

export interface FollowSettings {
  copierId: string;
  traderId: string;
  account: FollowAccount;
  sizing: SizingMode;
  /** 'trader': the leverage of each signal; a number: the copier's own */
  leverage: 'trader' | number;
  marginMode: MarginMode;
  /**
   * An account setting on the exchange: every follow of one account must name the same
   * mode (checked where follows are stored, which sees them all).
   */
  positionMode: PositionMode;
  /** instruments of the trader that this copier copies */
  instruments: readonly string[];
  /** USDT: the copier's position of this trader on one instrument and side is valued at most this */
  maxPositionValue: string;
  /**
   * largest |price − trader's fill price| / trader's fill price at which an open is still
   * copied, at sizing and at the fill (the open is an IOC limit order at that bound);
   * MIN_MAX_SLIPPAGE to MAX_MAX_SLIPPAGE; absent: defaultMaxSlippage of the instrument
   */
  maxSlippage?: string;
  /** take profit at this return on margin (0.5 = +50%); absent: none */
  takeProfitRatio?: string;
  /** stop loss at this loss on margin (0.2 = −20%), at most 1; absent: none */
  stopLossRatio?: string;
  /**
   * USDT the copier allots to this lead: the base of the equity stop (stops.ts), not a cap
   * on sizing; absent: no equity stop
   */
  copyFunds?: string;
  /**
   * the equity stop: once the follow's copy equity (copyFunds + realised PnL of the pair +
   * unrealised of its open slices at mark) is at or below copyFunds × (1 − ratio), every
   * slice of the lead is closed and the follow paused; above 0 up to 1, requires copyFunds
   */
  equityStopRatio?: string;
  /**
   * USDT the follow may lose in one UTC day (realised today + the change of the unrealised
   * since the day began); reached: every slice of the lead closed, the follow paused
   */
  dailyLossLimit?: string;
  /**
   * What drift repair does with a position the copier changed by hand on the exchange
   * (domain/drift.ts, manualChange): `adopt` (the trader's slice becomes what the exchange
   * holds, and goes on following the trader), `detach` (what the exchange holds leaves the
   * trader for the copier's kept slice: no longer grown or closed by the trader); absent:
   * only reported
   */
  onManualChange?: ManualChangePolicy;
  status: FollowStatus;
}

export type ManualChangePolicy = 'adopt' | 'detach';

/** The range a follow's maxSlippage may be set in: tighter rarely fills, wider is no protection. */
export const MIN_MAX_SLIPPAGE = '0.001';
export const MAX_MAX_SLIPPAGE = '0.03';
/** Assets whose swaps are deep enough for a tighter default bound. */
const MAJOR_ASSETS: readonly string[] = ['BTC', 'ETH'];

/**
 * The max slippage of a follow that sets none, per instrument: 0.5% on BTC and ETH swaps,
 * 1.5% on others (thinner books move more between the lead's fill and the copy's).
 * The asset is what precedes the first '-' of the instrument id (BTC-USDT-SWAP).
 */
export function defaultMaxSlippage(instrument: string): string {
  const dash = instrument.indexOf('-');
  const asset = dash < 0 ? instrument : instrument.slice(0, dash);
  return MAJOR_ASSETS.includes(asset) ? '0.005' : '0.015';
}

export const hasRoomForCopier = (lead: LeadSettings, copiers: number): boolean => copiers < lead.maxCopiers;
