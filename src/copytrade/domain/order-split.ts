import { createHash } from 'node:crypto';
import { type CopyOrder, MAX_CLIENT_ORDER_ID } from './copy-order.js';
import { type Fx, floorTo, fx, fxStr } from './fixed.js';

/**
 * An order over the exchange's per-order maximum (`maxQty`), as several orders the exchange
 * takes. Pure. Rules, in order:
 * 1. qty ≤ maxQty (or no maximum known): one order, as sized.
 * 2. n = ceil(qty / M) parts, M = maxQty rounded down to the step; more than MAX_ORDER_PARTS,
 *    or parts that would come out below minQty (a maximum under twice the minimum): one
 *    order, as sized, which the exchange refuses (QTY_ABOVE_MAX) and the fan-out records as
 *    any refusal; never a silent drop.
 * 3. Equal parts on the step, the steps left over on the last parts (ascending sizes): part 1
 *    is the smallest, so an exchange applying a batch in order and refusing part 1 for margin
 *    refuses every later part too (a delivery again, which looks up part 1 first, finds the
 *    others only behind it). Their sum is the order's qty exactly (a close of a whole slice
 *    stays exact).
 * 4. Ids: part 1 keeps the order's own client order id, part k ≥ 2 is `{id of part 1}/k`
 *    (`{signalKey}:{copierId}/k`; one over the exchange's length becomes `h:` and its SHA-256,
 *    as copy-order.ts does). The id names
 *    the part, not the count: a delivery again finds the parts behind part 1's id (which it
 *    looks up anyway) without knowing how many there were, and a copy the
 *    exchange took whole before a maximum was lowered is still found under its one id.
 *    Every id holds a ':' (fill-filter.ts tells copies from traders' own fills by it).
 */

/** A copy is split into at most this many orders (one exchange batch holds them all). */
export const MAX_ORDER_PARTS = 20;

/** The rules the split reads, decimal strings as the exchange publishes them. */
export interface SplitRules {
  qtyStep: string;
  minQty: string;
  /** absent: the exchange published none, nothing is split */
  maxQty?: string;
}

/** The quantities of the parts of `qty` (rules 1-3); one element when it is not split. */
export function splitQty(qty: Fx, rules: { step: Fx; minQty: Fx; maxQty: Fx | undefined }): Fx[] {
  const { step, minQty, maxQty } = rules;
  if (maxQty === undefined || qty <= maxQty) return [qty];
  const m = floorTo(maxQty, step);
  if (m <= 0n) return [qty];
  const n = (qty + m - 1n) / m;
  if (n > BigInt(MAX_ORDER_PARTS)) return [qty];
  const base = floorTo(qty / n, step);
  if (base < minQty) return [qty];
  const extra = qty - n * base;
  const bumped = extra / step; // parts that take one step more, the last ones
  const residue = extra - bumped * step; // off the step only if qty itself is: kept on the last part
  const parts: Fx[] = [];
  for (let k = 0n; k < n; k++) parts.push(k >= n - bumped ? base + step : base);
  parts[parts.length - 1] = (parts[parts.length - 1] as Fx) + residue;
  // off-step input can push the last part over the maximum: sent whole, refused as sized
  if ((parts[parts.length - 1] as Fx) > maxQty) return [qty];
  return parts;
}

/** Part `k` (1-based) of the copy whose own client order id is `orderId` (rule 4). */
export function partClientOrderId(orderId: string, k: number): string {
  if (k === 1) return orderId;
  const id = `${orderId}/${k}`;
  return id.length <= MAX_CLIENT_ORDER_ID ? id : `h:${createHash('sha256').update(id).digest('base64url')}`;
}

/**
 * The orders the exchange gets for `order`: itself when it is not split, else its parts, each
 * with its own id and qty. The first part holds the whole reservation (`margin`), the others
 * none: the book gives a reservation back once per order, whichever parts fill.
 */
export function partsOf(order: CopyOrder, rules: SplitRules): CopyOrder[] {
  if (rules.maxQty === undefined) return [order];
  const qtys = splitQty(fx(order.qty), {
    step: fx(rules.qtyStep),
    minQty: fx(rules.minQty),
    maxQty: fx(rules.maxQty),
  });
  if (qtys.length === 1) return [order];
  return qtys.map((q, i) => ({
    ...order,
    clientOrderId: partClientOrderId(order.clientOrderId, i + 1),
    qty: fxStr(q),
    margin: i === 0 ? order.margin : '0',
  }));
}
