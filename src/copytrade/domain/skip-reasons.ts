/**
 * Why a copier did not copy a signal (or part of it). A skip is recorded with its reason,
 * never dropped in silence; the codes are stable (stored, shown to copiers, counted in
 * metrics). Sizing checks in a fixed order (sizing.ts), so a skip names the first rule that
 * failed; the last two come from the exchange's answer (unfilled.ts): an order it canceled
 * whole, or the remainder of one it filled in part (that copier then has both its order and
 * this skip recorded).
 */
export const SKIP_REASONS = {
  'follow-stopped': 'the copier stopped following this trader',
  'follow-paused': 'the copier paused this follow: no new opens (closes still follow)',
  'kept-after-liquidation': "the trader was liquidated and the lead's policy keeps copiers' slices open",
  'instrument-not-followed': 'the copier does not copy this instrument',
  'price-moved': "the price moved past the copier's max slippage from the trader's fill",
  'no-slice': 'a close, but the copier holds no slice of this trader on this instrument and side',
  'below-min-qty': "the copier's quantity, rounded down to the step, is below the instrument's minimum",
  'over-max-position': "the copier's position of this trader would exceed its max position value",
  'insufficient-balance': 'the margin and estimated fee exceed the balance available for margin',
  'not-filled-at-bound':
    "the exchange's fill price was beyond the copier's max slippage from the trader's fill: the open (an IOC limit order at that bound) was canceled, nothing filled",
  'unfilled-remainder':
    'the exchange filled part of the order and canceled the rest (its reason in the detail, e.g. INSUFFICIENT_LIQUIDITY)',
  'lead-suspended': 'an operator suspended the lead: none of its signals is copied until it is resumed',
  'lead-not-approved': 'the lead is not approved to lead: none of its signals is copied',
  'drift-superseded':
    "drift repair: the copier's copy of an open was lost, and a later close of the trader on that side was copied since: the open is not placed late",
} as const;

export type SkipReason = keyof typeof SKIP_REASONS;

export interface CopySkip {
  signalId: string;
  copierId: string;
  traderId: string;
  instrument: string;
  reason: SkipReason;
  /** the figures behind the reason, for people ("needs 105.2 USDT, 50 available") */
  detail: string;
}
