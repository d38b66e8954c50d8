import { randomBytes } from 'node:crypto';
import { money } from '../domain/money.js';
import { SWAP_BIZ_TYPE } from '../settlement/domain/order.js';

export type LoadFlow = 'open' | 'close' | 'mixed';

/** A row as the counter writes it into its sync-order table. */
export interface CounterOrderRow {
  orderId: string;
  shard: number;
  userId: string;
  bizType: string;
  flow: string | null;
  asset: string | null;
  qty: string | null;
  usdt: string | null;
}

/** Rough reference prices, only to give the USDT paid a plausible size. */
const REF_PRICE = { BTC: 60_000, ETH: 3_000 } as const;

/**
 * Makes counter rows the way the counter would: option swap orders (BTC or ETH, open or
 * close) and, now and then, rows of other business types that tradeflow must ignore.
 * `random` is injected so tests can make it repeatable.
 */
export function makeCounterRows(
  n: number,
  opts: { flow: LoadFlow; shards: number; otherBizRate?: number; runId?: string },
  random: () => number = Math.random,
): CounterOrderRow[] {
  const runId = opts.runId ?? randomBytes(4).toString('hex');
  const rows: CounterOrderRow[] = [];
  for (let i = 0; i < n; i++) {
    const asset = random() < 0.7 ? 'BTC' : 'ETH';
    const flow = opts.flow === 'mixed' ? (random() < 0.5 ? 'OPEN' : 'CLOSE') : opts.flow.toUpperCase();
    const units = 1 + Math.floor(random() * 500);
    // qty in thousandths of BTC / hundredths of ETH, premium 3% of notional, in cents
    const qty = money(units).div(asset === 'BTC' ? 1000 : 100);
    const usdt = flow === 'OPEN' ? qty.mul(REF_PRICE[asset]).mul('0.03').toDecimalPlaces(2).toFixed() : null;
    const other = random() < (opts.otherBizRate ?? 0);
    rows.push({
      orderId: `${runId}-${i}`,
      shard: Math.floor(random() * opts.shards),
      userId: `u${1 + Math.floor(random() * 1000)}`,
      bizType: other ? 'SPOT_TRADE' : SWAP_BIZ_TYPE,
      flow,
      asset,
      qty: qty.toFixed(),
      usdt,
    });
  }
  return rows;
}
