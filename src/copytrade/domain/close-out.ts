import { type CopyOrder, clientOrderId } from './copy-order.js';
import { fx } from './fixed.js';
import { exchangeLeg, netPosition } from './netting.js';
import type { FollowSettings } from './settings.js';
import type { PositionSide } from './signal.js';
import { keptTraderId, type Slice, sliceId } from './slices.js';

/**
 * A copier that stops following a trader and asks for its slices to be closed: each open
 * slice of that trader becomes one reduce-only-where-possible close of the whole slice,
 * whatever the follow's status or instruments (the slices exist because the copier copied
 * them), and so is each slice the copier kept from that trader's liquidations. Other
 * traders' slices of the copier are untouched. Pure.
 *
 * Each slice's close has its own key, `stop/{requestId}/{instrument}/{L|S}@{traderId}`,
 * standing where a signal's key stands: its client order id is `{key}:{copierId}`, so a
 * close-out run again (after a crash) finds what it placed before and places nothing twice.
 * A trader's signal ids never contain `/`, so no key of a signal is ever one of these.
 */
export interface CloseOutRequest {
  /** chosen by the API when the copier asked; unique */
  requestId: string;
  copierId: string;
  traderId: string;
  /** when the copier asked (epoch ms) */
  requestedMs: number;
  /**
   * only the trader's slice on this instrument and side (a take profit or stop loss,
   * stops.ts); absent: every slice of the trader and those kept from it
   */
  slice?: { instrument: string; side: PositionSide };
}

export const closeOutKey = (requestId: string, slice: Slice): string =>
  `${closeOutKeyPrefix(requestId)}${slice.instrument}/${slice.side === 'long' ? 'L' : 'S'}@${slice.traderId}`;

/** What every slice key of one close-out request starts with. */
export const closeOutKeyPrefix = (requestId: string): string => `stop/${requestId}/`;

/** The key under which a close-out request itself is recorded as done. */
export const closeOutRequestKey = (r: CloseOutRequest): string => `stop/${r.requestId}@${r.traderId}`;

/**
 * The trader's slices the copier still holds, and those it kept from the trader's
 * liquidations, in a stable order; with `only`, the trader's own slice there alone.
 */
export function slicesToClose(
  slices: readonly Slice[],
  traderId: string,
  only?: CloseOutRequest['slice'],
): Slice[] {
  const kept = keptTraderId(traderId);
  const wanted = (s: Slice) =>
    only === undefined
      ? s.traderId === traderId || s.traderId === kept
      : s.traderId === traderId && s.instrument === only.instrument && s.side === only.side;
  return slices.filter((s) => wanted(s) && fx(s.qty) > 0n).sort((a, b) => (sliceId(a) < sliceId(b) ? -1 : 1));
}

/**
 * The order closing all of `slice`; `slices` is every slice of the copier as it is now (in
 * one-way mode the net position decides reduce-only, netting.ts).
 */
export function closeOutOrder(
  requestId: string,
  follow: FollowSettings,
  slice: Slice,
  slices: readonly Slice[],
): CopyOrder {
  return sliceCloseOrder(closeOutKey(requestId, slice), follow, slice, slices);
}

/**
 * The order closing all of `slice` at market under `key` (client order id
 * `{key}:{copierId}`): a close-out's, or drift repair's for a slice its lead no longer holds.
 */
export function sliceCloseOrder(
  key: string,
  follow: FollowSettings,
  slice: Slice,
  slices: readonly Slice[],
): CopyOrder {
  const qty = fx(slice.qty);
  const net = follow.positionMode === 'one-way' ? netPosition(slices, slice.instrument) : 0n;
  const leg = exchangeLeg(follow.positionMode, 'close', slice.side, qty, net);
  return {
    clientOrderId: clientOrderId(key, follow.copierId),
    signalId: key,
    copierId: follow.copierId,
    traderId: slice.traderId,
    instrument: slice.instrument,
    account: follow.account,
    side: slice.side,
    action: 'close',
    orderSide: leg.orderSide,
    posSide: leg.posSide,
    qty: slice.qty,
    reduceOnly: leg.reduceOnly,
    leverage: null,
    marginMode: follow.marginMode,
    margin: '0',
  };
}
