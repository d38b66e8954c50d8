/**
 * A lead trader's open or close, as tradeflow receives it (WebSocket frame, or a fill event
 * of the trading system) and as it travels in the stream `copy:signals`. Quantities and
 * prices are decimal strings; quantities are in contracts of the instrument.
 */
export type PositionSide = 'long' | 'short';
export type SignalAction = 'open' | 'close';

export interface TraderSignal {
  /** unique per trader; a signal id seen before is a duplicate */
  signalId: string;
  traderId: string;
  /** e.g. BTC-USDT-SWAP */
  instrument: string;
  action: SignalAction;
  /** the side of the trader's position that was opened or closed */
  side: PositionSide;
  /** contracts the trader opened or closed (its fill) */
  qty: string;
  /** the trader's fill price */
  price: string;
  /** the trader's leverage on this instrument */
  leverage: number;
  /**
   * the trader's position on this side before this fill, in contracts: a close of `qty`
   * out of `positionBefore` closes that fraction of every copier's slice
   */
  positionBefore: string;
  /** when the trader's order filled (epoch ms) */
  filledMs: number;
  /**
   * true on a close that is the exchange liquidating the trader's position: the lead's
   * policy (LeadSettings.onLiquidation) then decides whether copiers' slices close too.
   * Absent on every other signal.
   */
  liquidation?: boolean;
}
