import { isAmount, isDecimalString, money } from '../../domain/money.js';

export type Flow = 'open' | 'close';
export type Asset = 'BTC' | 'ETH';
export type OrderStatus = 'RUNNING' | 'DONE' | 'MANUAL';

/** A counter order that tradeflow settles. Amounts are decimal strings. */
export interface IntakeOrder {
  orderId: string;
  shard: number;
  userId: string;
  flow: Flow;
  asset: Asset;
  /** underlying quantity, in the asset */
  qty: string;
  /** USDT paid by the user (open); '0' for close */
  usdt: string;
  counterCreatedMs: number;
}

/** A row of the counter's sync-order table as any intake sees it: each column as the driver or decoder gives it (string, number or null). */
export type CounterRow = Record<string, string | number | null | undefined>;

export type IntakeDecision =
  | { kind: 'order'; order: IntakeOrder }
  | { kind: 'ignored'; reason: string }
  | { kind: 'rejected'; orderId: string | null; reason: string };

/** The counter's business type of the option orders paid in USDT; every other type is not ours. */
export const SWAP_BIZ_TYPE = 'OPTION_SWAP';

const ASSETS: readonly string[] = ['BTC', 'ETH'];
const ORDER_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const USER_ID = /^[A-Za-z0-9_.-]{1,64}$/;

const str = (v: CounterRow[string]): string | null => (v === null || v === undefined ? null : String(v));

/** A whole number written in decimal digits; Number() alone would read '', ' ', '0x1' and '1e3' too. */
function digits(value: string | null): number {
  return value !== null && /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
}

function positive(value: string | null, name: string): string {
  if (value === null) throw new Error(`${name} is missing`);
  if (!isDecimalString(value)) throw new Error(`${name} is not a decimal: "${String(value).slice(0, 40)}"`);
  const amount = money(value).toFixed();
  if (!money(value).gt(0)) throw new Error(`${name} must be positive, got ${value}`);
  if (!isAmount(amount)) throw new Error(`${name} is out of range: ${value}`);
  return amount;
}

/**
 * Decides what a counter row means for tradeflow. Pure: the poller, the Kafka/Canal
 * decoder and the reconciler all use it, so a row means the same whichever way it came.
 */
export function decideCounterRow(row: CounterRow, shards: number): IntakeDecision {
  const bizType = str(row.biz_type);
  if (bizType !== SWAP_BIZ_TYPE)
    return { kind: 'ignored', reason: `biz_type ${bizType ?? 'null'} is not ${SWAP_BIZ_TYPE}` };
  const orderId = str(row.order_id);
  if (orderId === null || !ORDER_ID.test(orderId)) {
    return {
      kind: 'rejected',
      orderId: null,
      reason: `order_id is missing or malformed: ${JSON.stringify(orderId)}`,
    };
  }
  try {
    const shard = digits(str(row.shard));
    if (!Number.isInteger(shard) || shard < 0 || shard >= shards)
      throw new Error(`shard ${str(row.shard)} is not in 0..${shards - 1}`);
    const userId = str(row.user_id);
    if (userId === null || !USER_ID.test(userId))
      throw new Error(`user_id is missing or malformed: ${JSON.stringify(userId)}`);
    const flow = str(row.flow)?.toLowerCase();
    if (flow !== 'open' && flow !== 'close')
      throw new Error(`flow must be OPEN or CLOSE, got ${JSON.stringify(str(row.flow))}`);
    const asset = str(row.asset);
    if (asset === null || !ASSETS.includes(asset))
      throw new Error(`asset must be BTC or ETH, got ${JSON.stringify(asset)}`);
    const qty = positive(str(row.qty), 'qty');
    const usdt = flow === 'open' ? positive(str(row.usdt), 'usdt') : '0';
    const createdMs = digits(str(row.created_ms));
    if (!Number.isSafeInteger(createdMs) || createdMs <= 0)
      throw new Error(`created_ms is not a time in ms: ${str(row.created_ms)}`);
    return {
      kind: 'order',
      order: { orderId, shard, userId, flow, asset: asset as Asset, qty, usdt, counterCreatedMs: createdMs },
    };
  } catch (err) {
    return { kind: 'rejected', orderId, reason: (err as Error).message };
  }
}
