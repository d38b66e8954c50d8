import type { FilledOrder, OrderOutcome, OrderResult } from '../../clients/exchange-wire.js';
import type { CopyOrder } from '../domain/copy-order.js';
import { fx, fxStr } from '../domain/fixed.js';
import { MAX_ORDER_PARTS, partClientOrderId, partsOf, type SplitRules } from '../domain/order-split.js';

/**
 * The exchange side of a copy split into parts (domain/order-split.ts): its parts sent in
 * one request, their answers read back as the one answer the fan-out records for the copy
 * (one copy_order row with the sums, one skip for what did not fill), and the parts found
 * again on a redelivery. A copy that is not split goes as it is: when nothing in a batch
 * is split, planParts answers null and the fan-out sends the batch unchanged.
 */

/**
 * The answer to a copy placed as parts: the sums over the parts that filled (qty, fee,
 * realised PnL; price their volume-weighted average), under the copy's own client order id,
 * with each part's answer in part order. Applied to the book part by part (fillsOf).
 */
export interface SplitFill extends FilledOrder {
  readonly parts: readonly OrderOutcome[];
  /** why some of the copy did not fill when a part was refused (the exchange's code) */
  readonly refusedCode?: string;
}

export const isSplit = (r: OrderOutcome): r is SplitFill => 'parts' in r;

/** What combining reads of a copy and of each part: its id and the qty asked. */
type Sized = Pick<CopyOrder, 'clientOrderId' | 'qty'>;

export interface PartsPlan {
  /** the orders for the exchange, in requests of at most `batchSize` (a copy's parts never in two) */
  readonly requests: CopyOrder[][];
  /** one answer per copy, in the copies' order, from the answers to `requests` (in their order) */
  answers(results: readonly (readonly OrderOutcome[])[]): OrderOutcome[];
}

/** The requests for `orders`, or null when none of them is over its instrument's maximum. */
export function planParts(
  orders: readonly CopyOrder[],
  rulesOf: (instrument: string) => SplitRules | undefined,
  batchSize: number,
): PartsPlan | null {
  // the hot path: one comparison per order, nothing allocated, when nothing is over its maximum
  let over = false;
  let instrument: string | undefined;
  let max: bigint | undefined;
  for (const o of orders) {
    if (o.instrument !== instrument) {
      instrument = o.instrument;
      const m = rulesOf(o.instrument)?.maxQty;
      max = m === undefined ? undefined : fx(m);
    }
    if (max !== undefined && fx(o.qty) > max) {
      over = true;
      break;
    }
  }
  if (!over) return null;
  const parts = orders.map((o) => {
    const rules = rulesOf(o.instrument);
    return rules === undefined ? [o] : partsOf(o, rules);
  });
  // over the maximum but not splittable (order-split.ts rule 2): sent whole, as sized
  if (parts.every((p) => p.length === 1)) return null;
  const requests: CopyOrder[][] = [];
  let current: CopyOrder[] = [];
  for (const p of parts) {
    if (current.length > 0 && current.length + p.length > batchSize) {
      requests.push(current);
      current = [];
    }
    current.push(...p);
  }
  if (current.length > 0) requests.push(current);
  return {
    requests,
    answers(results) {
      const flat = results.flat();
      let at = 0;
      return orders.map((o, i) => {
        const mine = parts[i] as CopyOrder[];
        const got = flat.slice(at, at + mine.length);
        at += mine.length;
        return mine.length === 1 ? (got[0] as OrderOutcome) : combineParts(o, mine, got);
      });
    },
  };
}

/**
 * One answer for the copy `o` from its parts' answers: filled if any part filled (the rest,
 * refused or canceled, counted as not filled), else canceled if any part was, else the first
 * part's refusal. A replay if any part is one: an earlier delivery placed the copy.
 */
export function combineParts(
  o: Sized,
  parts: readonly Sized[],
  answers: readonly (OrderOutcome | undefined)[],
): OrderOutcome {
  const filled = answers.filter((a): a is FilledOrder => a?.status === 'filled');
  const replay = answers.some((a) => a !== undefined && a.status !== 'rejected' && a.replay);
  if (filled.length === 0) {
    const canceled = answers.find((a) => a?.status === 'canceled');
    if (canceled?.status === 'canceled') {
      return {
        ...canceled,
        clientOrderId: o.clientOrderId,
        requestedQty: o.qty,
        remainingQty: o.qty,
        replay,
      };
    }
    const refused = answers.find((a) => a?.status === 'rejected');
    if (refused?.status === 'rejected') return { ...refused, clientOrderId: o.clientOrderId };
    return {
      status: 'rejected',
      account: null,
      clientOrderId: o.clientOrderId,
      code: 'NO_RESULT',
      message: 'no answer to any part',
    };
  }
  // what did not fill: remainders of filled parts, and the whole of the others
  let remaining = 0n;
  let refusedCode: string | undefined;
  parts.forEach((p, i) => {
    const a = answers[i];
    if (a?.status === 'filled') remaining += fx(a.remainingQty);
    else if (a?.status === 'canceled') remaining += fx(a.remainingQty);
    else {
      remaining += fx(p.qty);
      refusedCode ??= a?.code ?? 'NO_RESULT';
    }
  });
  const combined = sumFills(o, filled);
  let cancelReason: FilledOrder['cancelReason'];
  for (const a of answers) if (a !== undefined && a.status !== 'rejected') cancelReason ??= a.cancelReason;
  const split: SplitFill = {
    ...combined,
    replay,
    remainingQty: fxStr(remaining),
    orderStatus: remaining === 0n ? 'FILLED' : 'PARTIALLY_FILLED',
    parts: answers.map((a, i) => a ?? noResult(parts[i] as Sized)),
  };
  if (cancelReason !== undefined) Object.assign(split, { cancelReason });
  else delete (split as Partial<FilledOrder>).cancelReason;
  if (refusedCode !== undefined) Object.assign(split, { refusedCode });
  return split;
}

/** The fills of the parts as one: sums, and the volume-weighted price (rounded down to 18 places). */
function sumFills(o: Sized, filled: readonly FilledOrder[]): FilledOrder {
  let qty = 0n;
  let notional = 0n;
  let fee = 0n;
  let pnl = 0n;
  for (const f of filled) {
    const q = fx(f.qty);
    qty += q;
    notional += q * fx(f.price);
    fee += fx(f.fee);
    pnl += fx(f.realisedPnl);
  }
  const first = filled[0] as FilledOrder;
  return {
    ...first,
    clientOrderId: o.clientOrderId,
    requestedQty: o.qty,
    qty: fxStr(qty),
    price: qty === 0n ? first.price : fxStr(notional / qty),
    fee: fxStr(fee),
    realisedPnl: fxStr(pnl),
    legs: filled.flatMap((f) => f.legs),
  };
}

const noResult = (p: Sized): OrderOutcome => ({
  status: 'rejected',
  account: null,
  clientOrderId: p.clientOrderId,
  code: 'NO_RESULT',
  message: 'no answer',
});

/**
 * What the book applies for the copy `o` answered `r`: each filled part as its own order (its
 * id and qty; the first filled one gives the reservation back, domain/order-split.ts), or
 * the copy itself when it was not split.
 */
export function fillsOf(o: CopyOrder, r: FilledOrder): { order: CopyOrder; fill: FilledOrder }[] {
  if (!isSplit(r)) return [{ order: o, fill: r }];
  const out: { order: CopyOrder; fill: FilledOrder }[] = [];
  for (const a of r.parts) {
    if (a.status !== 'filled') continue;
    const margin = out.length === 0 ? o.margin : '0';
    out.push({ order: { ...o, clientOrderId: a.clientOrderId, qty: a.requestedQty, margin }, fill: a });
  }
  return out;
}

/** Why some of a copy did not fill: a refused part's code, else the exchange's cancel reason. */
export const unfilledReason = (r: FilledOrder): string | undefined =>
  (isSplit(r) ? r.refusedCode : undefined) ?? r.cancelReason;

type Lookup = (
  refs: readonly { account: string; clientOrderId: string }[],
) => Promise<(OrderResult | null)[]>;

/**
 * A delivery again: of the copies found filled under their own id (part 1), those that may
 * have been split (part 1 over a third of the instrument's maximum now: a split's first part
 * is about qty / n > max / 2) have their parts 2..MAX_ORDER_PARTS asked all at once (in
 * batches), so a part the exchange refused in the middle hides none after it; each copy with
 * parts found is replaced by their combined answer. Copies far under the maximum (nearly
 * all) cost no lookup more. A maximum raised past twice a part since the parts were placed
 * would hide them (the slice then holds part 1, the rest is drift).
 */
export async function findParts(
  found: Map<string, OrderResult>,
  accountOf: Map<string, string>,
  maxQtyOf: (instrument: string) => string | undefined,
  lookup: Lookup,
  batchSize: number,
): Promise<void> {
  const refs: { account: string; clientOrderId: string; copy: string }[] = [];
  for (const [id, r] of found) {
    if (r.status !== 'filled') continue;
    const max = maxQtyOf(r.instrument);
    if (max === undefined || fx(r.requestedQty) * 3n <= fx(max)) continue;
    const account = accountOf.get(id) as string;
    for (let k = 2; k <= MAX_ORDER_PARTS; k++)
      refs.push({ account, clientOrderId: partClientOrderId(id, k), copy: id });
  }
  const parts = new Map<string, FilledOrder[]>();
  for (let i = 0; i < refs.length; i += batchSize) {
    const chunk = refs.slice(i, i + batchSize);
    const results = await lookup(chunk.map(({ account, clientOrderId }) => ({ account, clientOrderId })));
    results.forEach((r, j) => {
      if (r?.status !== 'filled') return;
      const copy = (chunk[j] as { copy: string }).copy;
      const list = parts.get(copy) ?? [found.get(copy) as FilledOrder];
      list.push(r);
      parts.set(copy, list);
    });
  }
  for (const [id, fills] of parts) {
    const qty = fxStr(fills.reduce((sum, f) => sum + fx(f.requestedQty), 0n));
    const asked = fills.map((f) => ({ clientOrderId: f.clientOrderId, qty: f.requestedQty }));
    // filled parts only: the combined answer is a fill
    found.set(id, combineParts({ clientOrderId: id, qty }, asked, fills) as SplitFill);
  }
}
