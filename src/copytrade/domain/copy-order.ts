import { createHash } from 'node:crypto';
import type { OrderSide, PosSide } from './netting.js';
import type { FollowAccount, MarginMode } from './settings.js';
import type { PositionSide, SignalAction } from './signal.js';
import type { CopySkip } from './skip-reasons.js';

/**
 * What sizing gives for one copier and one signal: an order to place on the copier's
 * account, or a skip with its reason. Quantities are contracts, amounts USDT, all decimal
 * strings. The client order id (`{signalId}:{copierId}`, clientOrderId below) makes a
 * replayed signal place nothing twice.
 */
export interface CopyOrder {
  clientOrderId: string;
  signalId: string;
  copierId: string;
  traderId: string;
  instrument: string;
  account: FollowAccount;
  action: SignalAction;
  /** the side of the slice opened or closed */
  side: PositionSide;
  /** the exchange order: buy or sell (see netting.ts for one-way mode) */
  orderSide: OrderSide;
  /** hedge mode: the slice's side; one-way mode: 'net' */
  posSide: PosSide;
  qty: string;
  reduceOnly: boolean;
  /** the leverage the copy was sized at; null for a close nothing sized (a stop's close-out) */
  leverage: number | null;
  marginMode: MarginMode;
  /**
   * USDT this order takes from the balance for margin: the margin of the exposure it adds
   * plus the estimated fee, rounded up to 8 places; '0' for a close. The fan-out subtracts
   * it from its in-memory balance before sizing the same account's next copy.
   */
  margin: string;
  /**
   * An open's bound (entry-bound.ts): sent as an IOC limit order at this price, so nothing
   * fills beyond the copier's max slippage; absent for a close, which goes at market.
   */
  limitPrice?: string;
  takeProfitPrice?: string;
  stopLossPrice?: string;
}

export type SizingResult = { kind: 'order'; order: CopyOrder } | { kind: 'skip'; skip: CopySkip };

/**
 * Client order ids longer than this are refused by the exchange (the simulator's limit;
 * real exchanges allow 32-64 characters).
 */
export const MAX_CLIENT_ORDER_ID = 128;

/**
 * `{signalKey}:{copierId}`, readable and the same every time; one that would be too long
 * for the exchange (long trader, signal and copier ids) is replaced by a digest of it,
 * `h:{sha256 base64url}`, just as stable. Either way it holds a `:`, which is how fills of
 * copy orders are told from traders' own (fill-filter.ts).
 */
export function clientOrderId(signalKey: string, copierId: string): string {
  const id = `${signalKey}:${copierId}`;
  return id.length <= MAX_CLIENT_ORDER_ID ? id : `h:${createHash('sha256').update(id).digest('base64url')}`;
}
