import type { IntakeOrder } from './order.js';

/**
 * The counter's clock against ours. A row dated further ahead than `maxSkewMs` is not taken
 * in: it would lift its shard's watermark past now, and the reconciler, which looks from
 * the watermark, would look at a window that has not happened yet. Once such a row is due
 * the reconciler finds it like any late order. Pure.
 */
export interface ClockCheck {
  /** orders dated at most `maxSkewMs` ahead */
  due: IntakeOrder[];
  /** orders dated further ahead, with the reason */
  ahead: { order: IntakeOrder; reason: string }[];
  /** how far the latest-dated order is ahead of `nowMs` (0 when none is) */
  skewMs: number;
}

export function checkClock(orders: readonly IntakeOrder[], nowMs: number, maxSkewMs: number): ClockCheck {
  const out: ClockCheck = { due: [], ahead: [], skewMs: 0 };
  for (const order of orders) {
    const aheadMs = order.counterCreatedMs - nowMs;
    out.skewMs = Math.max(out.skewMs, aheadMs);
    if (aheadMs > maxSkewMs) {
      out.ahead.push({
        order,
        reason: `created_ms ${order.counterCreatedMs} is ${aheadMs} ms ahead of the engine's clock (TF_MAX_CLOCK_SKEW_MS is ${maxSkewMs})`,
      });
    } else out.due.push(order);
  }
  return out;
}

/** The highest a watermark may be at `nowMs`: whatever lifted one further is not to be believed. */
export const watermarkCeiling = (nowMs: number, maxSkewMs: number): number => nowMs + maxSkewMs;
