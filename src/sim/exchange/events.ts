import type { FillEvent, FilledOrder } from '../../clients/exchange-wire.js';

/**
 * The fill events of a filled order, one per leg (a one-way flip has two: the close of the
 * old side, the open of the new). Replays publish nothing: their fills were published when
 * they happened. A liquidation's fills say so (`liquidation: true`).
 */
export function fillEvents(order: FilledOrder): FillEvent[] {
  return order.legs.map((leg, i) => ({
    type: 'fill',
    account: order.account,
    instrument: order.instrument,
    side: leg.side,
    action: leg.action,
    qty: leg.qty,
    price: order.price,
    leverage: order.leverage,
    positionBefore: leg.positionBefore,
    clientOrderId: order.clientOrderId,
    filledMs: order.filledMs,
    fillId: `${order.orderId}-${i + 1}`,
    ...(order.liquidation === true ? { liquidation: true as const } : {}),
  }));
}
