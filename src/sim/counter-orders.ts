import { and, asc, eq, gte, lt } from 'drizzle-orm';
import type { CounterOrderRow } from '../clients/wire.js';
import type { Db } from '../infra/mysql/client.js';
import { syncOrder } from '../infra/mysql/counter-schema.js';
import { InvalidRequest } from './errors.js';

/** The counter's listing of its sync-order table, which the engine's reconciler compares against. */

export interface OrdersQuery {
  shard: number;
  fromMs: number;
  /** exclusive */
  toMs: number;
  limit: number;
}

export const DEFAULT_LIMIT = 1000;
export const MAX_LIMIT = 10_000;
const SHARD_MAX = 32_767; // smallint

export function parseOrdersQuery(query: URLSearchParams): OrdersQuery {
  const q: OrdersQuery = {
    shard: integer(query, 'shard', 0, SHARD_MAX),
    fromMs: integer(query, 'fromMs', 0, Number.MAX_SAFE_INTEGER),
    toMs: integer(query, 'toMs', 0, Number.MAX_SAFE_INTEGER),
    limit: query.has('limit') ? integer(query, 'limit', 1, MAX_LIMIT) : DEFAULT_LIMIT,
  };
  if (q.toMs < q.fromMs) throw new InvalidRequest('toMs: must not be before fromMs');
  return q;
}

function integer(query: URLSearchParams, name: string, min: number, max: number): number {
  const raw = query.get(name);
  const n = raw !== null && /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= min && n <= max)) throw new InvalidRequest(`${name}: expected an integer from ${min} to ${max}`);
  return n;
}

/** Rows of one shard created in [fromMs, toMs), oldest first; decimals stay strings as mysql2 gives them. */
export function listCounterOrders(db: Db, q: OrdersQuery): Promise<CounterOrderRow[]> {
  return db
    .select()
    .from(syncOrder)
    .where(
      and(eq(syncOrder.shard, q.shard), gte(syncOrder.createdMs, q.fromMs), lt(syncOrder.createdMs, q.toMs)),
    )
    .orderBy(asc(syncOrder.createdMs), asc(syncOrder.id))
    .limit(q.limit);
}
