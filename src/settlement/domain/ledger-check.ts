import { LAST_STEP } from './flows.js';

/** What the simulators' ledger says of itself. */
export interface SimLedgerView {
  conserved: boolean;
  doubleEffects: number;
  overlaps?: number;
  effects: Record<string, number>;
}

export interface LedgerCheck {
  conserved: boolean;
  /** (order, step) effects applied more than once */
  doubleEffects: number;
  /** steps of DONE orders whose effect the ledger does not have */
  missingEffects: number;
  ordersSeen: number;
  effects: number;
  /** calls that reached a service while an earlier call of the same order was unanswered (retries after a timeout do) */
  overlaps: number;
  ok: boolean;
}

/**
 * Joins the simulators' ledger with the engine's DONE orders: each DONE order must have
 * had each of its steps applied exactly once, under its key `{orderId}:{step}`.
 */
export function checkLedger(ledger: SimLedgerView, doneOrderIds: Iterable<string>): LedgerCheck {
  let doubles = 0;
  const orders = new Set<string>();
  for (const [key, times] of Object.entries(ledger.effects)) {
    if (times > 1) doubles++;
    orders.add(key.slice(0, key.lastIndexOf(':')));
  }
  let missing = 0;
  for (const id of doneOrderIds) {
    for (let step = 1; step <= LAST_STEP; step++) if (!ledger.effects[`${id}:${step}`]) missing++;
  }
  const doubleEffects = Math.max(doubles, ledger.doubleEffects);
  return {
    conserved: ledger.conserved,
    doubleEffects,
    missingEffects: missing,
    ordersSeen: orders.size,
    effects: Object.keys(ledger.effects).length,
    overlaps: ledger.overlaps ?? 0,
    ok: ledger.conserved && doubleEffects === 0 && missing === 0,
  };
}
